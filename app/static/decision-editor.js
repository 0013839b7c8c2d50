// The decision table editor: dmn-js on one DMN file of a process; Deploy makes a new process version.
(async function () {
  const root = document.getElementById('decision-app');
  const outcome = document.getElementById('outcome');
  const editor = new window.DmnJS({ container: '#dmn' });
  window.decisionEditor = editor; // for the browser tests and the console
  await editor.importXML(await fetch(root.dataset.xmlUrl).then((r) => r.text()));
  const table = editor.getViews().find((view) => view.type === 'decisionTable');
  if (table) await editor.open(table);

  function show(kind, message, problems) {
    outcome.replaceChildren();
    const box = document.createElement('div');
    box.className = `alert alert-${kind}`;
    if (message) box.append(message);
    if (problems && problems.length) {
      const list = document.createElement('ul');
      list.className = 'mb-0';
      for (const problem of problems) {
        const item = document.createElement('li');
        item.textContent = `${problem.element || root.dataset.textWhole}: ${problem.message}`;
        list.append(item);
      }
      box.append(list);
    }
    outcome.append(box);
  }

  document.getElementById('deploy').addEventListener('click', async () => {
    const { xml } = await editor.saveXML({ format: true });
    try {
      const response = await fetch(root.dataset.deployUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': root.dataset.csrf },
        body: JSON.stringify({ dmn_file: root.dataset.file, dmn: xml,
          change_note: document.getElementById('change-note').value }),
      });
      const body = await response.json();
      if (response.ok) show('success', body.message);
      else show('danger', '', body.problems);
    } catch (error) {
      show('danger', root.dataset.textFailed);
    }
  });
}());
