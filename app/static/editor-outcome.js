// What the process modeler and the decision table editor share: posting a document as JSON with the
// CSRF token, and showing the outcome (a message, or the problems by element).
window.editorOutcome = {
  async post(url, csrf, body, failedText) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
        body: JSON.stringify(body),
      });
      return { ok: response.ok, body: await response.json() };
    } catch (error) {
      return { ok: false, body: { problems: [{ element: null, message: failedText }] } };
    }
  },

  // `onElement(id)`, if given, makes each problem's element a link that calls it.
  show(outcome, kind, message, problems, wholeText, onElement) {
    outcome.replaceChildren();
    const box = document.createElement('div');
    box.className = `alert alert-${kind}`;
    if (message) box.append(message);
    if (problems && problems.length) {
      const list = document.createElement('ul');
      list.className = 'mb-0';
      for (const problem of problems) {
        const item = document.createElement('li');
        const name = problem.element || wholeText;
        if (onElement) {
          const link = document.createElement('a');
          link.href = '#';
          link.textContent = name;
          link.addEventListener('click', (event) => { event.preventDefault(); onElement(problem.element); });
          item.append(link);
        } else {
          item.append(name);
        }
        item.append(`: ${problem.message}`);
        list.append(item);
      }
      box.append(list);
    }
    outcome.append(box);
  },
};
