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
