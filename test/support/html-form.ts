// The HTML side of TestBrowser: what a person sees of a page and how its form controls behave, on the
// parsed document (node-html-parser).
import { HTMLElement, Node, NodeType, TextNode } from 'node-html-parser';

// Elements whose contents a person never reads on the page.
const INVISIBLE = new Set(['script', 'style', 'template', 'head']);
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset',
  'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'label', 'legend',
  'li', 'main', 'nav', 'ol', 'option', 'p', 'pre', 'section', 'summary', 'table', 'td', 'th', 'tr', 'ul',
]);
// Input types that never contribute a name=value of their own (submit buttons only when clicked).
export const NOT_SERIALIZED = new Set(['submit', 'button', 'reset', 'image', 'file']);

export function elements(root: HTMLElement): HTMLElement[] {
  const found: HTMLElement[] = [];
  const walk = (node: Node): void => {
    for (const child of node.childNodes) {
      if (child instanceof HTMLElement) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

export function visibleText(node: Node): string {
  if (node.nodeType === NodeType.TEXT_NODE) return (node as TextNode).text;
  if (!(node instanceof HTMLElement)) return '';
  const tag = node.tagName?.toLowerCase() ?? '';
  if (INVISIBLE.has(tag) || node.hasAttribute('hidden')) return '';
  const inner = node.childNodes.map(visibleText).join('');
  return BLOCKS.has(tag) ? ` ${inner} ` : inner;
}

export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function textOf(element: HTMLElement): string {
  return collapse(visibleText(element));
}

export function inputType(element: HTMLElement): string {
  return (element.getAttribute('type') ?? 'text').toLowerCase();
}

export function isSubmitButton(element: HTMLElement): boolean {
  const tag = element.tagName.toLowerCase();
  if (tag === 'button') return (element.getAttribute('type') ?? 'submit').toLowerCase() === 'submit';
  return tag === 'input' && (inputType(element) === 'submit' || inputType(element) === 'image');
}

export function buttonText(element: HTMLElement): string {
  if (element.tagName.toLowerCase() === 'button') return textOf(element);
  return collapse(element.getAttribute('value') ?? element.getAttribute('alt') ?? 'Submit');
}

export function ownerForm(control: HTMLElement, document: HTMLElement): HTMLElement | null {
  const formId = control.getAttribute('form');
  if (formId !== undefined) {
    return elements(document).find((element) => element.tagName.toLowerCase() === 'form' && element.id === formId) ?? null;
  }
  return control.closest('form');
}

export function isDisabled(control: HTMLElement): boolean {
  if (control.hasAttribute('disabled')) return true;
  const fieldset = control.closest('fieldset[disabled]');
  if (!fieldset) return false;
  // Controls inside a disabled fieldset's first legend stay enabled.
  const legend = fieldset.childNodes.find((child): child is HTMLElement => child instanceof HTMLElement && child.tagName.toLowerCase() === 'legend');
  return !(legend && control.closest('legend') === legend);
}

export function radioGroup(radio: HTMLElement, form: HTMLElement | null, document: HTMLElement): HTMLElement[] {
  const name = radio.getAttribute('name');
  return elements(document).filter(
    (element) =>
      element.tagName.toLowerCase() === 'input' &&
      inputType(element) === 'radio' &&
      element.getAttribute('name') === name &&
      ownerForm(element, document) === form,
  );
}

export function options(select: HTMLElement): HTMLElement[] {
  return select.querySelectorAll('option');
}

export function optionValue(option: HTMLElement): string {
  return option.getAttribute('value') ?? textOf(option);
}
