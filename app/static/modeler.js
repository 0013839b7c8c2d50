// The process modeler: bpmn-js with the properties panel and Camunda's moddle (form key, assignee,
// candidate groups, due date), Validate (problems by element, which it selects) and Deploy.
(async function () {
  const root = document.getElementById('modeler-app');
  const outcome = document.getElementById('outcome');
  const panel = window.BpmnJSPropertiesPanel;
  const [xml, camunda] = await Promise.all([
    fetch(root.dataset.xmlUrl).then((r) => r.text()),
    fetch(root.dataset.moddleUrl).then((r) => r.json()),
  ]);
  const modeler = new window.BpmnJS({
    container: '#canvas',
    propertiesPanel: { parent: '#properties' },
    additionalModules: [panel.BpmnPropertiesPanelModule, panel.BpmnPropertiesProviderModule,
      panel.CamundaPlatformPropertiesProviderModule],
    moddleExtensions: { camunda },
  });
  window.processModeler = modeler; // for the browser tests and the console
  await modeler.importXML(xml);
  modeler.get('canvas').zoom('fit-viewport');

  function select(id) {
    const element = id && modeler.get('elementRegistry').get(id);
    if (element) {
      modeler.get('selection').select(element);
      modeler.get('canvas').scrollToElement(element);
    }
  }

  function show(kind, message, problems) {
    window.editorOutcome.show(outcome, kind, message, problems, root.dataset.textWhole, select);
    if (problems && problems.length) select(problems[0].element);
  }

  async function send(url, extra) {
    const { xml } = await modeler.saveXML({ format: true });
    return window.editorOutcome.post(url, root.dataset.csrf, { xml, ...extra }, root.dataset.textFailed);
  }

  document.getElementById('validate').addEventListener('click', async () => {
    const { body } = await send(root.dataset.checkUrl, {});
    if (body.problems && body.problems.length) show('danger', '', body.problems);
    else show('success', root.dataset.textValid);
  });

  document.getElementById('deploy').addEventListener('click', async () => {
    const note = document.getElementById('change-note').value;
    const { ok, body } = await send(root.dataset.deployUrl, { change_note: note });
    if (ok) show('success', body.message);
    else show('danger', '', body.problems);
  });
}());
