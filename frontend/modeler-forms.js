// The process's drawn forms on the modeler page, edited with form-js's editor beside the diagram: the
// list of the forms (by id and title, with the steps naming each), "edit" (the editor opens below the
// diagram), "new form" (an id, an empty schema). Like the diagram, nothing is saved until Deploy, which
// posts every form of the page (`all()`); the properties panel's form choice offers them (`choices()`).
import { FormEditor } from '@bpmn-io/form-js-editor';
import { formFields as fieldTypes } from '@bpmn-io/form-js-viewer';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-editor/dist/assets/properties-panel.css';
import './modeler-forms.css';

import { chinese, speakChinese } from './translate';
import zh, { FIELD_TYPES, PATTERNS } from './zh/form-editor';

export const DRAWN_FORM_PREFIX = 'camunda-forms:deployment:';
// A new form's id: a safe identifier, short enough for a task's form key (80 characters with the prefix).
const FORM_ID = /^[A-Za-z][A-Za-z0-9_]{0,54}$/;
const SCHEMA_VERSION = 16;

export class PageForms {
  constructor(schemas) {
    this.schemas = { ...schemas };
    this.listeners = [];
    this.editor = null;
    this.editing = null;
  }

  ids() { return Object.keys(this.schemas).sort(); }

  title(id) {
    const title = this.schemas[id] && this.schemas[id].title;
    return typeof title === 'string' && title.trim() ? title.trim() : id;
  }

  // The options of a step's form choice: every form of the page, as the form key naming it.
  choices(text) {
    return this.ids().map((id) => ({ value: DRAWN_FORM_PREFIX + id, label: text.replace('{title}', this.title(id)) }));
  }

  onChange(listener) { this.listeners.push(listener); }

  changed() { this.listeners.forEach((listener) => listener()); }

  // Whether `id` may name a new form: null if so, else why not ('bad' or 'taken').
  refusal(id) {
    if (!FORM_ID.test(id)) return 'bad';
    return id in this.schemas ? 'taken' : null;
  }

  add(id) {
    this.schemas[id] = { type: 'default', id, components: [], schemaVersion: SCHEMA_VERSION };
    this.changed();
  }

  // Every form of the page, the one open in the editor as it is now.
  all() {
    if (this.editor && this.editing) this.schemas[this.editing] = this.editor.saveSchema();
    return { ...this.schemas };
  }
}

// The form ids a diagram's start events and user tasks name, with their names: {form id: [names]}.
function namedBy(modeler) {
  const found = {};
  for (const element of modeler.get('elementRegistry').getAll()) {
    if (element.type === 'label') continue; // an event's name, drawn apart from it
    const key = element.businessObject && element.businessObject.get && element.businessObject.get('camunda:formKey');
    if (typeof key === 'string' && key.startsWith(DRAWN_FORM_PREFIX)) {
      const id = key.slice(DRAWN_FORM_PREFIX.length);
      (found[id] = found[id] || []).push(element.businessObject.name || element.id);
    }
  }
  return found;
}

// form-js's editor in the page's language: its field types' names (the palette, a new field's label)
// are set before it renders; every other word is replaced where it is written (translate.js).
function newEditor(panel) {
  if (chinese) {
    // The field types (the viewer's classes, registered by the editor) are named by their config's label.
    for (const type of fieldTypes) {
      if (FIELD_TYPES[type.config.type]) type.config.label = FIELD_TYPES[type.config.type];
    }
  }
  const editor = new FormEditor({
    container: panel.querySelector('#form-canvas'),
    palette: { parent: panel.querySelector('#form-palette') },
    propertiesPanel: { parent: panel.querySelector('#form-properties') },
  });
  if (chinese) {
    speakChinese(panel, zh, PATTERNS, '#form-canvas .fjs-form-field-label, #form-canvas .fjs-form-field-description,'
      + ' #form-canvas .fjs-form-field-text');
  }
  return editor;
}

export function mountForms(forms, modeler, root) {
  const list = document.getElementById('form-list');
  const panel = document.getElementById('form-editor-panel');
  const name = document.getElementById('form-editor-name');
  const newForm = document.getElementById('new-form');
  const newId = document.getElementById('new-form-id');
  const newError = document.getElementById('new-form-error');
  const text = root.dataset;

  function render() {
    const named = namedBy(modeler);
    list.replaceChildren(...forms.ids().map((id) => {
      const item = document.createElement('li');
      item.className = 'list-group-item d-flex flex-wrap align-items-center gap-2';
      item.dataset.formId = id;
      if (id === forms.editing) item.classList.add('active-form');
      const title = document.createElement('span');
      title.className = 'fw-semibold';
      title.textContent = forms.title(id);
      const code = document.createElement('code');
      code.textContent = id;
      const steps = document.createElement('small');
      steps.className = named[id] ? 'text-muted' : 'text-warning-emphasis';
      steps.textContent = named[id] ? text.textUsedBy.replace('{steps}', named[id].join('、')) : text.textUnused;
      const edit = document.createElement('button');
      edit.type = 'button';
      edit.className = 'btn btn-sm btn-outline-primary ms-auto';
      edit.textContent = id === forms.editing ? text.textEditing : text.textEdit;
      edit.disabled = id === forms.editing;
      edit.dataset.testid = 'edit-form';
      edit.addEventListener('click', () => open(id));
      const words = document.createElement('span');
      words.className = 'd-flex flex-column';
      words.append(title, steps);
      item.append(words);
      if (forms.title(id) !== id) item.append(code);
      item.append(edit);
      return item;
    }));
  }

  async function open(id) {
    if (!forms.editor) {
      panel.hidden = false;
      forms.editor = newEditor(panel);
      window.formEditor = forms.editor; // for the browser tests and the console
      forms.editor.on('changed', () => { if (forms.editing) forms.schemas[forms.editing] = forms.editor.saveSchema(); });
    }
    if (forms.editing) forms.schemas[forms.editing] = forms.editor.saveSchema();
    forms.editing = null;
    panel.hidden = false;
    await forms.editor.importSchema(forms.schemas[id]);
    forms.editing = id;
    name.textContent = forms.title(id) === id ? id : `${forms.title(id)} (${id})`;
    panel.dataset.formId = id;
    render();
    panel.scrollIntoView({ block: 'start', behavior: 'instant' });
  }

  document.getElementById('form-editor-close').addEventListener('click', () => {
    if (forms.editing) forms.schemas[forms.editing] = forms.editor.saveSchema();
    forms.editing = null;
    panel.hidden = true;
    delete panel.dataset.formId;
    render();
  });

  newForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = newId.value.trim();
    const refusal = forms.refusal(id);
    newId.classList.toggle('is-invalid', Boolean(refusal));
    if (refusal) {
      newError.textContent = refusal === 'taken' ? text.textTakenId : text.textBadId;
      return;
    }
    newId.value = '';
    forms.add(id);
    open(id);
  });

  forms.onChange(render);
  modeler.get('eventBus').on('elements.changed', render);
  render();
}
