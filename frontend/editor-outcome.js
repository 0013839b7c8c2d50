// What the process modeler and the decision table editor share: posting a document as JSON with the
// CSRF token, and showing the outcome (a message, or the problems by element).

export async function post(url, csrf, body, failedText) {
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
}

// Each problem leads with its element's name (`nameOf(id)`, when the editor knows one) and the id in
// small print, or `wholeText` for the document as a whole; `onElement(id)`, if given, makes the name a
// link that calls it.
export function show(outcome, kind, message, problems, { wholeText, nameOf = () => '', onElement } = {}) {
  outcome.replaceChildren();
  const box = document.createElement('div');
  box.className = `alert alert-${kind}`;
  if (message) box.append(message);
  if (problems && problems.length) {
    const list = document.createElement('ul');
    list.className = 'mb-0';
    for (const problem of problems) list.append(problemItem(problem, wholeText, nameOf, onElement));
    box.append(list);
  }
  outcome.append(box);
}

function problemItem(problem, wholeText, nameOf, onElement) {
  const item = document.createElement('li');
  const id = problem.element;
  const name = (id && nameOf(id)) || id || wholeText;
  if (id && onElement) {
    const link = document.createElement('a');
    link.href = '#';
    link.textContent = name;
    link.addEventListener('click', (event) => { event.preventDefault(); onElement(id); });
    item.append(link);
  } else {
    item.append(name);
  }
  if (id && name !== id) {
    const small = document.createElement('small');
    small.className = 'text-muted ms-1 font-monospace';
    small.textContent = id;
    item.append(small);
  }
  item.append(`: ${problem.message}`);
  return item;
}
