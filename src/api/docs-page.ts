/**
 * A readable, self-contained HTML rendering of the OpenAPI document for `/docs`: no scripts, no CDN,
 * just the document laid out (operations by tag, parameters, bodies and responses with their schemas).
 */
import type { OpenApiDocument } from './openapi';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch
  );
}

/** Inline markdown the document's descriptions use: **bold** and `code`. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** Paragraphs of inline markdown. */
function markdown(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${inline(paragraph)}</p>`)
    .join('');
}

function anchor(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9_-]+/g, '-');
}

class SchemaRenderer {
  constructor(private readonly components: Json) {}

  resolve(schema: Json): { name?: string; schema: Json } {
    const ref = str(schema.$ref);
    if (!ref) return { schema };
    const name = ref.replace('#/components/schemas/', '');
    const target = this.components[name];
    return { name, schema: isObject(target) ? target : {} };
  }

  typeLabel(raw: Json): string {
    const { name, schema } = this.resolve(raw);
    const type = str(schema.type);
    let label: string;
    if (Array.isArray(schema.enum)) label = schema.enum.map((v) => JSON.stringify(v)).join(' | ');
    else if (type === 'array' && isObject(schema.items)) label = `array of ${this.typeLabel(schema.items)}`;
    else if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
      const options = ((schema.anyOf ?? schema.oneOf) as unknown[]).filter(isObject);
      label = options.map((option) => this.typeLabel(option)).join(' or ');
    } else label = type ?? 'any';
    if (str(schema.format)) label += ` (${str(schema.format)})`;
    if (schema.nullable === true) label += ', nullable';
    return name ? `${name}: ${label}` : label;
  }

  private constraints(schema: Json): string {
    const parts: string[] = [];
    if (schema.exclusiveMinimum === true && schema.minimum !== undefined)
      parts.push(`greater than <code>${escapeHtml(JSON.stringify(schema.minimum))}</code>`);
    for (const [key, word] of [
      ['minLength', 'min length'],
      ['maxLength', 'max length'],
      ...(schema.exclusiveMinimum === true ? [] : ([['minimum', 'min']] as const)),
      ['maximum', 'max'],
      ['minItems', 'min items'],
      ['maxItems', 'max items'],
      ['pattern', 'pattern'],
      ['default', 'default'],
      ['example', 'example'],
    ] as const) {
      if (schema[key] !== undefined)
        parts.push(
          `${word}: <code>${escapeHtml(typeof schema[key] === 'string' ? schema[key] : JSON.stringify(schema[key]))}</code>`
        );
    }
    return parts.length > 0 ? `<span class="constraints">${parts.join(' · ')}</span>` : '';
  }

  render(raw: Json, depth = 0): string {
    const { schema } = this.resolve(raw);
    if (depth > 6) return '';
    const description = str(schema.description);
    let inner = '';
    const properties = isObject(schema.properties) ? schema.properties : undefined;
    if (properties) {
      const required = new Set(
        Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []
      );
      inner = `<ul class="props">${Object.entries(properties)
        .filter((entry): entry is [string, Json] => isObject(entry[1]))
        .map(([name, property]) => {
          const resolved = this.resolve(property).schema;
          return `<li><code class="prop">${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''} <span class="type">${this.typeHtml(property)}</span>${
            str(resolved.description) ? ` — ${inline(str(resolved.description)!)}` : ''
          } ${this.constraints(resolved)}${this.render(property, depth + 1)}</li>`;
        })
        .join('')}</ul>`;
    } else if (str(schema.type) === 'array' && isObject(schema.items)) {
      inner = this.render(schema.items, depth + 1);
    } else if (isObject(schema.additionalProperties)) {
      inner = `<div class="note">map of string to ${escapeHtml(this.typeLabel(schema.additionalProperties))}</div>`;
    }
    return depth === 0 && description ? `<div class="desc">${inline(description)}</div>${inner}` : inner;
  }

  /** The type label, with a named schema linked to its entry in the Schemas section. */
  typeHtml(raw: Json): string {
    const label = escapeHtml(this.typeLabel(raw));
    const { name } = this.resolve(raw);
    return name
      ? label.replace(escapeHtml(name), `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>`)
      : label;
  }
}

/** A body: expanded in full for requests; for responses, a named schema is a link to the Schemas section. */
function renderContent(content: unknown, renderer: SchemaRenderer, expandNamed: boolean): string {
  if (!isObject(content)) return '';
  return Object.entries(content)
    .map(([mediaType, media]) => {
      const schema = isObject(media) && isObject(media.schema) ? media.schema : undefined;
      const expand = schema !== undefined && (expandNamed || renderer.resolve(schema).name === undefined);
      return `<div class="media"><span class="mt">${escapeHtml(mediaType)}</span>${schema ? ` <span class="type">${renderer.typeHtml(schema)}</span>${expand ? renderer.render(schema) : ''}` : ''}</div>`;
    })
    .join('');
}

function renderOperation(path: string, method: string, operation: Json, renderer: SchemaRenderer): string {
  const id = anchor(method, path);
  const parameters = Array.isArray(operation.parameters) ? operation.parameters.filter(isObject) : [];
  const security = Array.isArray(operation.security)
    ? operation.security.filter(isObject).flatMap((s) => Object.keys(s))
    : [];
  const body = isObject(operation.requestBody) ? operation.requestBody : undefined;
  const responses = isObject(operation.responses) ? operation.responses : {};
  return `<section class="op" id="${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p class="summary">${escapeHtml(str(operation.summary) ?? '')}</p>
${str(operation.description) ? markdown(str(operation.description)!) : ''}
<p class="auth">Auth: ${security.length > 0 ? security.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ') : 'none'}</p>
${
  parameters.length > 0
    ? `<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>${parameters
        .map(
          (p) =>
            `<tr><td><code>${escapeHtml(str(p.name) ?? '')}</code>${p.required === true ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(str(p.in) ?? '')}</td><td>${
              isObject(p.schema) ? escapeHtml(renderer.typeLabel(p.schema)) : ''
            }</td><td>${inline(str(p.description) ?? (isObject(p.schema) ? (str(p.schema.description) ?? '') : ''))}</td></tr>`
        )
        .join('')}</table>`
    : ''
}
${body ? `<h4>Request body${body.required === true ? '' : ' (optional)'}</h4>${str(body.description) ? `<p>${inline(str(body.description)!)}</p>` : ''}${renderContent(body.content, renderer, true)}` : ''}
<h4>Responses</h4>
<dl class="responses">${Object.entries(responses)
    .filter((entry): entry is [string, Json] => isObject(entry[1]))
    .map(
      ([status, response]) =>
        `<dt class="s${status[0]}">${escapeHtml(status)}</dt><dd>${inline(str(response.description) ?? '')}${renderContent(response.content, renderer, false)}</dd>`
    )
    .join('')}</dl>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;display:flex}
nav{width:270px;flex:none;height:100vh;position:sticky;top:0;overflow:auto;background:#f5f6f8;border-right:1px solid #e1e4e8;padding:16px;box-sizing:border-box}
nav h2{font-size:12px;text-transform:uppercase;color:#6a7380;margin:16px 0 4px}nav a{display:block;color:#1d2330;text-decoration:none;font-size:13px;padding:2px 0}
main{padding:24px 40px;max-width:980px}code{background:#f0f2f4;border-radius:3px;padding:1px 4px;font-size:13px}
.op{border-top:1px solid #e1e4e8;padding:12px 0}.method{display:inline-block;min-width:48px;text-align:center;color:#fff;border-radius:3px;font-size:12px;padding:2px 6px}
.get{background:#2b7bb9}.post{background:#3c9b4a}.summary{font-weight:600}.req{color:#b3261e;font-size:11px}.type{color:#6b4fa0;font-size:13px}
.constraints{color:#6a7380;font-size:12px}.props{list-style:none;padding-left:16px;border-left:2px solid #eceef1}.mt{font-size:12px;color:#6a7380}
table{border-collapse:collapse}td,th{border:1px solid #e1e4e8;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}
dt{font-weight:600;float:left;width:48px}dd{margin-left:56px;margin-bottom:8px}.s2{color:#3c9b4a}.s4{color:#b26b00}.s5{color:#b3261e}.desc,.note{color:#4a5260}`;

export function renderDocsPage(document: OpenApiDocument): string {
  const doc = document as unknown as Json;
  const info = isObject(doc.info) ? doc.info : {};
  const components = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  const renderer = new SchemaRenderer(components);
  const tags = (Array.isArray(doc.tags) ? doc.tags.filter(isObject) : []).map((t) => ({
    name: str(t.name) ?? '',
    description: str(t.description) ?? '',
  }));
  const operations: { tag: string; path: string; method: string; operation: Json }[] = [];
  for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    if (!isObject(item)) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation)) continue;
      const tag = Array.isArray(operation.tags) ? (str(operation.tags[0]) ?? 'Other') : 'Other';
      operations.push({ tag, path, method, operation });
    }
  }
  const tagNames = [...new Set([...tags.map((t) => t.name), ...operations.map((o) => o.tag)])];
  const title = escapeHtml(str(info.title) ?? 'API');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body>
<nav><strong>${title}</strong> <span class="mt">v${escapeHtml(str(info.version) ?? '')}</span>
<a href="/openapi.json">openapi.json</a>
${tagNames
  .map(
    (tag) =>
      `<h2>${escapeHtml(tag)}</h2>${operations
        .filter((o) => o.tag === tag)
        .map(
          (o) =>
            `<a href="#${anchor(o.method, o.path)}"><span class="method ${o.method}">${o.method.toUpperCase()}</span> ${escapeHtml(o.path)}</a>`
        )
        .join('')}`
  )
  .join('')}
<h2><a href="#schemas">Schemas</a></h2>
</nav>
<main>
<h1>${title}</h1>
${markdown(str(info.description) ?? '')}
${tagNames
  .map((tag) => {
    const description = tags.find((t) => t.name === tag)?.description;
    return `<h2 id="${anchor('tag', tag)}">${escapeHtml(tag)}</h2>${description ? `<p>${escapeHtml(description)}</p>` : ''}${operations
      .filter((o) => o.tag === tag)
      .map((o) => renderOperation(o.path, o.method, o.operation, renderer))
      .join('')}`;
  })
  .join('')}
<h2 id="schemas">Schemas</h2>
${Object.keys(components)
  .map(
    (name) =>
      `<section class="op" id="${anchor('schema', name)}"><h3><code>${escapeHtml(name)}</code></h3>${renderer.render({ $ref: `#/components/schemas/${name}` })}</section>`
  )
  .join('')}
</main>
</body></html>`;
}
