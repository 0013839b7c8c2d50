// The properties panel in our terms: who does a user task (our assignment rules by name), its form
// (our form keys by name, and the page's drawn forms by title) and its due date (ISO 8601 or our
// helpers), instead of Camunda's free text about users, EL and embedded forms; and none of the groups
// our engine never reads.
import { CheckboxEntry, SelectEntry, TextFieldEntry, isCheckboxEntryEdited, isSelectEntryEdited,
  isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

// Camunda platform groups whose settings SpiffWorkflow and our engine ignore (listeners, mappings,
// asynchronous continuations, generated forms …): offering them would only mislead.
const IGNORED_GROUPS = new Set(['Errors', 'StartInitiator', 'ExternalTask', 'AsynchronousContinuations',
  'JobExecution', 'CandidateStarter', 'FieldInjection', 'HistoryCleanup', 'Tasklist', 'InMapping',
  'InMappingPropagation', 'OutMapping', 'OutMappingPropagation', 'ProcessVariables', 'FormData',
  'BusinessKey', 'ExecutionListener', 'TaskListener', 'Input', 'Output', 'ConnectorInput',
  'ConnectorOutput'].map((name) => `CamundaPlatform__${name}`));

const LOW_PRIORITY = 400; // after Camunda's provider (500), whose groups it changes

export default {
  __init__: ['ourPropertiesProvider'],
  ourPropertiesProvider: ['type', OurPropertiesProvider],
};

// `terms` (config.modelerTerms) is what the server offers: rules, form keys, due date examples, texts;
// `drawnForms` (config.drawnForms, modeler-forms.js's PageForms) the page's drawn forms.
function OurPropertiesProvider(propertiesPanel, terms, drawnForms) {
  this.getGroups = (element) => (groups) => {
    const kept = groups.filter((group) => !IGNORED_GROUPS.has(group.id));
    const assignment = kept.find((group) => group.id === 'CamundaPlatform__UserAssignment');
    if (assignment) assignment.entries = assignmentEntries(element, terms);
    const form = kept.find((group) => group.id === 'CamundaPlatform__Form');
    if (form) {
      form.entries = [{ id: 'formKey', element, terms, drawnForms, component: FormKey, isEdited: isSelectEntryEdited }];
    }
    return kept;
  };
  propertiesPanel.registerProvider(LOW_PRIORITY, this);
}
OurPropertiesProvider.$inject = ['propertiesPanel', 'config.modelerTerms', 'config.drawnForms'];

function assignmentEntries(element, terms) {
  return [
    { id: 'assignee', element, terms, component: Assignee, isEdited: isSelectEntryEdited },
    { id: 'candidateGroups', element, terms, component: CandidateGroupsHeading },
    ...terms.group_rules.map((rule) => ({
      id: `candidateGroup-${rule.code}`, element, rule, component: CandidateGroup, isEdited: isCheckboxEntryEdited,
    })),
    ...unknownGroupRules(element, terms).map((code) => ({
      id: `candidateGroup-${code}`, element, rule: { code, label: `${code} — ${terms.texts.unknown}` },
      component: CandidateGroup, isEdited: isCheckboxEntryEdited,
    })),
    { id: 'dueDate', element, terms, component: DueDate, isEdited: isTextFieldEntryEdited },
  ];
}

function useUpdate(element, property) {
  const commandStack = useService('commandStack');
  const businessObject = getBusinessObject(element);
  return (value) => commandStack.execute('element.updateModdleProperties', {
    element, moddleElement: businessObject, properties: { [property]: value || undefined },
  });
}

// A select of the offered codes; a code the document holds that the server does not know stays
// visible (and Validate names it).
function codeOptions(offered, current, texts, more = []) {
  const options = [{ value: '', label: texts.none }, ...offered.map((item) => ({ value: item.code, label: item.option })),
    ...more];
  if (current && !options.some((option) => option.value === current)) {
    options.push({ value: current, label: `${current} — ${texts.unknown}` });
  }
  return options;
}

// A Camunda property holding one of the codes the server offers, as a select of their names.
function codeSelect(property, id, text, offered) {
  return function CodeSelect({ element, terms }) {
    const setValue = useUpdate(element, property);
    const getValue = () => getBusinessObject(element).get(property) || '';
    return SelectEntry({
      element, id, label: terms.texts[text], description: terms.texts[`${text}_help`],
      getValue, setValue, getOptions: () => codeOptions(terms[offered], getValue(), terms.texts),
    });
  };
}

const Assignee = codeSelect('camunda:assignee', 'assignee', 'assignee', 'person_rules');
// A step's form: a form key of the code, or one of the page's drawn forms ("Form: <title>").
function FormKey({ element, terms, drawnForms }) {
  const setValue = useUpdate(element, 'camunda:formKey');
  const getValue = () => getBusinessObject(element).get('camunda:formKey') || '';
  const drawn = () => (drawnForms ? drawnForms.choices(terms.texts.drawn_form) : []);
  return SelectEntry({
    element, id: 'formKey', label: terms.texts.form_key, description: terms.texts.form_key_help,
    getValue, setValue, getOptions: () => codeOptions(terms.form_keys, getValue(), terms.texts, drawn()),
  });
}

function groupRulesOf(element) {
  return (getBusinessObject(element).get('camunda:candidateGroups') || '')
    .split(',').map((rule) => rule.trim()).filter(Boolean);
}

function unknownGroupRules(element, terms) {
  return groupRulesOf(element).filter((code) => !terms.group_rules.some((rule) => rule.code === code));
}

function CandidateGroupsHeading({ terms }) {
  return h('div', { class: 'bio-properties-panel-entry' },
    h('div', { class: 'bio-properties-panel-label' }, terms.texts.candidate_groups),
    h('div', { class: 'bio-properties-panel-description' }, terms.texts.candidate_groups_help));
}

// One checkbox per group rule; the rules stay in the order the document had them, a new one last.
function CandidateGroup({ element, rule, id }) {
  const update = useUpdate(element, 'camunda:candidateGroups');
  const setValue = (checked) => {
    const others = groupRulesOf(element).filter((code) => code !== rule.code);
    update((checked ? [...others, rule.code] : others).join(','));
  };
  return CheckboxEntry({
    element, id, label: rule.option || rule.label, getValue: () => groupRulesOf(element).includes(rule.code), setValue,
  });
}

function DueDate({ element, terms }) {
  const debounce = useService('debounceInput');
  const setValue = useUpdate(element, 'camunda:dueDate');
  const description = h('span', null, terms.texts.due_date_help,
    h('dl', { class: 'modeler-due-date-examples' }, terms.due_date_examples.flatMap(({ text, meaning }) => [
      h('dt', null, h('code', null, text)), h('dd', null, meaning)])));
  return TextFieldEntry({
    element, id: 'dueDate', label: terms.texts.due_date, description, debounce,
    getValue: () => getBusinessObject(element).get('camunda:dueDate') || '', setValue,
  });
}
