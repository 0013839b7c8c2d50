// The decision table editor: dmn-js on one DMN file of a process; Deploy makes a new process version.
(async function () {
  const root = document.getElementById('decision-app');
  const outcome = document.getElementById('outcome');
  const editor = new window.DmnJS({ container: '#dmn' });
  window.decisionEditor = editor; // for the browser tests and the console
  await editor.importXML(await fetch(root.dataset.xmlUrl).then((r) => r.text()));
  const table = editor.getViews().find((view) => view.type === 'decisionTable');
  if (table) await editor.open(table);

  document.getElementById('deploy').addEventListener('click', async () => {
    const { xml } = await editor.saveXML({ format: true });
    const { ok, body } = await window.editorOutcome.post(root.dataset.deployUrl, root.dataset.csrf, {
      dmn_file: root.dataset.file, dmn: xml, change_note: document.getElementById('change-note').value,
    }, root.dataset.textFailed);
    if (ok) window.editorOutcome.show(outcome, 'success', body.message);
    else window.editorOutcome.show(outcome, 'danger', '', body.problems, root.dataset.textWhole);
  });
}());
