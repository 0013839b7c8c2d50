// The decision table editor: dmn-js on one DMN file of a process, in the page's language; Deploy makes a
// new process version.
import DmnModeler from 'dmn-js/lib/Modeler';

import { post, show } from './editor-outcome';
import { translateModule } from './translate';
import zh from './zh/dmn';

// dmn-js hands its `common` modules to no view (it replaces them by each view's own): each view gets it.
const translation = { additionalModules: [translateModule(zh)] };

(async function () {
  const root = document.getElementById('decision-app');
  const outcome = document.getElementById('outcome');
  const editor = new DmnModeler({
    container: '#dmn',
    drd: translation, decisionTable: translation, literalExpression: translation, boxedExpression: translation,
  });
  window.decisionEditor = editor; // for the browser tests and the console
  await editor.importXML(await fetch(root.dataset.xmlUrl).then((r) => r.text()));
  const table = editor.getViews().find((view) => view.type === 'decisionTable');
  if (table) await editor.open(table);

  document.getElementById('deploy').addEventListener('click', async () => {
    const { xml } = await editor.saveXML({ format: true });
    const { ok, body } = await post(root.dataset.deployUrl, root.dataset.csrf, {
      dmn_file: root.dataset.file, dmn: xml, change_note: document.getElementById('change-note').value,
    }, root.dataset.textFailed);
    if (ok) show(outcome, 'success', body.message);
    else show(outcome, 'danger', '', body.problems, { wholeText: root.dataset.textWhole });
  });
}());
