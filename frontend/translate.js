// bpmn-js and dmn-js show every text through their `translate` service: a template in English with
// {placeholders} (`Open {element}`). Ours takes it from the page's language's table when it has it.
export const chinese = document.documentElement.lang.startsWith('zh');

export function translateModule(table) {
  const translations = chinese ? table : {};
  function translate(template, replacements = {}) {
    return (translations[template] || template)
      .replace(/{([^}]+)}/g, (placeholder, key) => (key in replacements ? String(replacements[key]) : placeholder));
  }
  return { translate: ['value', translate] };
}

// form-js has no `translate` service (bpmn-io/form-js#77): its words are fixed English in its components.
// In Chinese they are replaced where it writes them, each time it renders: a text node or an attribute
// (`title`, `placeholder`, `aria-label`) whose whole text is a key of `words`, or matches one of
// `patterns` ([regexp, (match) => text]). Never what a person types (inputs, editors) nor what `keep`
// matches (the form's own words on its canvas). Preact leaves a text alone until its value changes.
const ATTRIBUTES = ['title', 'placeholder', 'aria-label'];
const TYPED = 'input, textarea, select, [contenteditable], .cm-editor';

export function speakChinese(container, words, patterns = [], keep = null) {
  if (!chinese) return;
  const said = (text) => {
    const trimmed = text.trim();
    if (!trimmed) return null;
    if (Object.prototype.hasOwnProperty.call(words, trimmed)) return text.replace(trimmed, words[trimmed]);
    for (const [pattern, make] of patterns) {
      const match = trimmed.match(pattern);
      if (match) return text.replace(trimmed, make(match));
    }
    return null;
  };
  const skipped = (element) => element.closest(TYPED) || (keep && element.closest(keep));
  const apply = () => {
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = said(node.nodeValue);
      if (text !== null && text !== node.nodeValue && !skipped(node.parentElement)) node.nodeValue = text;
    }
    for (const name of ATTRIBUTES) {
      container.querySelectorAll(`[${name}]`).forEach((element) => {
        const text = said(element.getAttribute(name));
        if (text !== null && text !== element.getAttribute(name)) element.setAttribute(name, text);
      });
    }
  };
  new MutationObserver(apply).observe(container, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES,
  });
  apply();
}
