// A strict reader for the XML stackgen writes (JUnit reports): elements, double-quoted
// attributes, text and the five predefined entities. It throws on anything not
// well-formed (an unclosed or crossed tag, a raw `<` or `&`, a control character), so a
// test can prove a report parses before it reads it. Not a general XML parser: no
// comments, CDATA, DOCTYPE or namespaces, which stackgen never writes.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, entities decoded. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const NAME = /[A-Za-z_][\w.-]*/y;
const ATTR = /\s+([A-Za-z_][\w.-]*)="([^"<]*)"/y;

function decode(raw: string, at: number): string {
  // XML 1.0 forbids these characters even escaped.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(raw)) throw new Error(`control character near ${at}`);
  return raw.replace(/&([a-z]*);?/g, (whole, name: string) => {
    const value = ENTITIES[name];
    if (value === undefined || !whole.endsWith(';')) throw new Error(`bare & near ${at}: ${whole}`);
    return value;
  });
}

/** Parse a whole document (an optional `<?xml …?>` declaration, then one root element). */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const declaration = /^<\?xml[^?]*\?>\s*/.exec(text);
  if (declaration) i = declaration[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt === -1 ? text.length : lt);
    if (stack.length === 0) {
      if (chunk.trim() !== '') throw new Error(`text outside the root element near ${i}`);
    } else stack.at(-1)!.text += decode(chunk, i);
    if (lt === -1) break;
    i = lt + 1;
    const closing = text[i] === '/';
    if (closing) i++;
    NAME.lastIndex = i;
    const name = NAME.exec(text)?.[0];
    if (!name) throw new Error(`bad tag name near ${i}`);
    i += name.length;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}> near ${i}`);
      if (text[i] !== '>') throw new Error(`bad closing tag near ${i}`);
      i++;
      if (stack.length === 0) root = open;
      continue;
    }
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      ATTR.lastIndex = i;
      const m = ATTR.exec(text);
      if (!m) break;
      if (m[1]! in el.attrs) throw new Error(`duplicate attribute ${m[1]} near ${i}`);
      el.attrs[m[1]!] = decode(m[2]!, i);
      i = ATTR.lastIndex;
    }
    while (text[i] === ' ') i++;
    const selfClosing = text.startsWith('/>', i);
    if (!selfClosing && text[i] !== '>') throw new Error(`bad tag <${name}> near ${i}`);
    i += selfClosing ? 2 : 1;
    if (root) throw new Error('more than one root element');
    stack.at(-1)?.children.push(el);
    if (!selfClosing) stack.push(el);
    else if (stack.length === 0) root = el;
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every descendant element named `name`, in document order. */
export function elementsNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...elementsNamed(c, name)]);
}
