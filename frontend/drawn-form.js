// A form drawn with form-js, filled in on the new-request and task pages: the page gives the schema (its
// choices already filled by the server), the data to show and the server's errors by field id as JSON
// <script>s; on submit, the viewer's data goes into the hidden input `drawn_data` and the page's own form
// posts it (the server judges it; the viewer's own errors only stop the post early).
import { Form } from '@bpmn-io/form-js-viewer';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import './drawn-form.css';

// form-js has no translation module: its validation texts are English. Chinese ones, by the English text.
const ZH = [
  [/^Field is required\.$/, () => '此项必填。'],
  [/^Field must have minimum value of (.+)\.$/, (m) => `不能小于 ${m[1]}。`],
  [/^Field must have maximum value of (.+)\.$/, (m) => `不能大于 ${m[1]}。`],
  [/^Field must have minimum length of (.+)\.$/, (m) => `至少 ${m[1]} 个字符。`],
  [/^Field must have maximum length of (.+)\.$/, (m) => `最多 ${m[1]} 个字符。`],
  [/^Field must match pattern .*$/, () => '格式不符合要求。'],
  [/^Field must be a valid email\.$/, () => '不是有效的电子邮件地址。'],
  [/^Value is not a number\.$/, () => '请输入数字。'],
  [/^Value is expected to be an integer\.$/, () => '请输入整数。'],
  [/^Value is expected to have at most (\d+) decimal digits?\.$/, (m) => `最多 ${m[1]} 位小数。`],
  [/^Please select a valid value, the two nearest valid values are (.+) and (.+)\.$/,
    (m) => `请输入有效的值，最接近的是 ${m[1]} 和 ${m[2]}。`],
];

export function translated(message) {
  for (const [pattern, text] of ZH) {
    const match = message.match(pattern);
    if (match) return text(match);
  }
  return message;
}

// The viewer's Validator is not exported: its instance's texts are translated where they come out.
function speakChinese(form) {
  const validator = form.get('validator');
  const check = validator.validateFieldInstance.bind(validator);
  validator.validateFieldInstance = (...args) => check(...args).map(translated);
}

// Its own words on the page ("Select", a list's "Add new" …) are fixed English too: in Chinese, they are
// replaced where the viewer writes them (its buttons, the select's placeholder, placeholders and labels for
// screen readers), each time it renders. The schema's own words are never touched.
const ZH_WORDS = [
  [/^Select$/, () => '请选择'],
  [/^Search$/, () => '搜索'],
  [/^Add new$/, () => '添加一行'],
  [/^Collapse$/, () => '收起'],
  [/^Expand all \((\d+)\)$/, (m) => `展开全部（${m[1]}）`],
  [/^Remove list item (\d+)$/, (m) => `删除第 ${m[1]} 行`],
  [/^Remove tag$/, () => '移除'],
];
const OWN_TEXT = 'button, .fjs-select-display';
const OWN_ATTRIBUTES = ['placeholder', 'aria-label', 'title'];

function word(text) {
  for (const [pattern, words] of ZH_WORDS) {
    const match = text.match(pattern);
    if (match) return words(match);
  }
  return null;
}

function speakChineseWords(container) {
  const apply = () => {
    container.querySelectorAll(OWN_TEXT).forEach((element) => {
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.nodeValue.trim();
        const words = text && word(text);
        if (words) node.nodeValue = node.nodeValue.replace(text, words);
      }
    });
    for (const name of OWN_ATTRIBUTES) {
      container.querySelectorAll(`[${name}]`).forEach((element) => {
        const words = word(element.getAttribute(name).trim());
        if (words) element.setAttribute(name, words);
      });
    }
  };
  new MutationObserver(apply).observe(container, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: OWN_ATTRIBUTES,
  });
  apply();
}

function json(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

// A filepicker's value is only the viewer's handle on its files ("files::…"): the files themselves go in a
// file input `drawn_files-<key>` of the page's form, and the server files them as the case's attachments.
function filepickers(components, found = []) {
  for (const component of components || []) {
    if (component.type === 'filepicker' && component.key) found.push(component.key);
    if (component.type === 'group') filepickers(component.components, found);
  }
  return found;
}

function attachFiles(page, schema, data, files) {
  for (const key of filepickers(schema.components)) {
    const name = `drawn_files-${key}`;
    let carrier = page.querySelector(`input[type=file][name="${name}"]`);
    if (!carrier) {
      carrier = Object.assign(document.createElement('input'), { type: 'file', name, multiple: true, hidden: true });
      page.appendChild(carrier);
    }
    const chosen = new DataTransfer();
    for (const file of files.get(data[key]) || []) chosen.items.add(file);
    carrier.files = chosen.files;
  }
}

// The error summary above the page's form links each drawn field as #drawn-field-<field id>: the
// viewer's input for it is `fjs-form-<the viewer's id>-<field id>…` (a radio's, a row's with more after).
function leadTheSummary(form, container) {
  const summary = document.querySelector('[data-testid=error-summary]');
  if (!summary) return;
  summary.addEventListener('click', (event) => {
    const link = event.target.closest("a[href^='#drawn-field-']");
    if (!link) return;
    const prefix = `fjs-form-${form._id}-${link.getAttribute('href').slice('#drawn-field-'.length)}`;
    const input = Array.from(container.querySelectorAll('[id]')).find((element) => element.id.startsWith(prefix));
    if (!input) return;
    event.preventDefault();
    (input.closest('.fjs-form-field') || input).scrollIntoView({ block: 'center' });
    input.focus({ preventScroll: true });
  });
}

async function mount(container) {
  const page = container.closest('form');
  const input = page.querySelector('input[name="drawn_data"]');
  const chinese = (document.documentElement.lang || '').startsWith('zh');
  const form = new Form({ container });
  if (chinese) {
    speakChinese(form);
    speakChineseWords(container);
  }
  const schema = json('drawn-schema');
  await form.importSchema(schema, json('drawn-initial') || {});
  const errors = json('drawn-errors');  // the server's, by field id ([id, row index] in a list's rows)
  if (errors && Object.keys(errors).length) form._setState({ errors });
  leadTheSummary(form, container);
  container.dataset.ready = 'true';
  let decidedBy = null;  // the button that posts (a decision button carries its own name and value)
  page.addEventListener('click', (event) => {
    const button = event.target.closest('button[type="submit"], input[type="submit"]');
    if (button) decidedBy = button;
  });
  page.addEventListener('submit', (event) => {
    if (decidedBy && decidedBy.hasAttribute('formnovalidate')) return;
    const { data, errors: found, files } = form.submit();
    input.value = JSON.stringify(data);
    attachFiles(page, schema, data, files);
    if (Object.keys(found).length && !page.dataset.serverJudges) {
      event.preventDefault();  // the viewer shows its errors beside the fields
      const first = container.querySelector('.fjs-has-errors input, .fjs-has-errors textarea');
      if (first) first.focus();
    }
  });
}

document.querySelectorAll('[data-drawn-form]').forEach((container) => { mount(container); });
