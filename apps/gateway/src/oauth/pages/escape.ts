import escapeHtml from 'escape-html';

// Module-private key: only the html tag can mint SafeHtml, so there is no way to mark an arbitrary string as safe.
const key = Symbol('SafeHtml');

export class SafeHtml {
  readonly #markup: string;

  constructor(secret: typeof key, markup: string) {
    if (secret !== key) throw new TypeError('SafeHtml is only created by the html tag');
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

type HtmlValue = string | number | SafeHtml | readonly SafeHtml[] | null | undefined | false;

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    markup += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(key, markup);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}
