// The process modeler: bpmn-js with the properties panel and Camunda's moddle, in the page's language and
// in our terms (assignment rules, form keys, due dates); Validate (problems by element name, selecting
// the element) and Deploy, with the process's drawn forms (modeler-forms.js): a form edited or added on
// the page is posted with the diagram, and offered at once by a step's form choice.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule }
  from 'bpmn-js-properties-panel';
import camunda from 'camunda-bpmn-moddle/resources/camunda.json';

import { post, show } from './editor-outcome';
import { PageForms, mountForms } from './modeler-forms';
import ourProperties from './our-properties';
import { translateModule } from './translate';
import zh from './zh/bpmn';

const MARGIN = 24; // px around the diagram when it opens

// Fit the whole diagram into the canvas right of the palette, which floats over the canvas's left edge
// (zoom 'fit-viewport' would put the start event under it); never magnified beyond 100 %.
function fitBesidePalette(canvas, container) {
  const palette = container.querySelector('.djs-palette');
  const left = (palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left : 0) + MARGIN;
  const { inner, outer } = canvas.viewbox();
  const scale = Math.min(1, (outer.width - left - MARGIN) / inner.width, (outer.height - 2 * MARGIN) / inner.height);
  canvas.viewbox({
    x: inner.x - left / scale, y: inner.y - MARGIN / scale, width: outer.width / scale, height: outer.height / scale,
  });
}

(async function () {
  const root = document.getElementById('modeler-app');
  const outcome = document.getElementById('outcome');
  const [xml, terms] = await Promise.all([
    fetch(root.dataset.xmlUrl).then((r) => r.text()),
    fetch(root.dataset.termsUrl).then((r) => r.json()),
  ]);
  const forms = new PageForms(JSON.parse(document.getElementById('modeler-forms').textContent));
  const modeler = new BpmnModeler({
    container: '#canvas',
    propertiesPanel: { parent: '#properties' },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule, ourProperties, translateModule(zh)],
    moddleExtensions: { camunda },
    modelerTerms: terms,
    drawnForms: forms,
  });
  window.processModeler = modeler; // for the browser tests and the console
  await modeler.importXML(xml);
  const registry = modeler.get('elementRegistry');
  fitBesidePalette(modeler.get('canvas'), document.getElementById('canvas'));
  mountForms(forms, modeler, root);
  // A new form is offered at once by the selected step's form choice.
  forms.onChange(() => modeler.get('eventBus').fire('propertiesPanel.providersChanged'));

  function select(id) {
    const element = id && registry.get(id);
    if (element) {
      modeler.get('selection').select(element);
      modeler.get('canvas').scrollToElement(element);
    }
  }

  function report(kind, message, problems) {
    show(outcome, kind, message, problems, {
      wholeText: root.dataset.textWhole,
      nameOf: (id) => registry.get(id)?.businessObject.name,
      onElement: select,
    });
    if (problems && problems.length) select(problems[0].element);
  }

  async function send(url, extra) {
    const { xml } = await modeler.saveXML({ format: true });
    return post(url, root.dataset.csrf, { xml, forms: forms.all(), ...extra }, root.dataset.textFailed);
  }

  document.getElementById('validate').addEventListener('click', async () => {
    const { body } = await send(root.dataset.checkUrl, {});
    if (body.problems && body.problems.length) report('danger', '', body.problems);
    else report('success', root.dataset.textValid);
  });

  document.getElementById('deploy').addEventListener('click', async () => {
    const note = document.getElementById('change-note').value;
    const { ok, body } = await send(root.dataset.deployUrl, { change_note: note });
    if (ok) report('success', body.message);
    else report('danger', '', body.problems);
  });
}());
