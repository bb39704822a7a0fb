import { refName, type Schema } from './openapi'

function typeLabel(s: Schema): string {
  if (s.$ref) return refName(s.$ref)
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type
  if (t === 'array' && s.items) return `${typeLabel(s.items)}[]`
  if (s.const !== undefined) return JSON.stringify(s.const)
  return [t ?? (s.oneOf ? 'one of' : s.anyOf ? 'any of' : s.allOf ? 'all of' : s.properties ? 'object' : 'any'), s.format && `(${s.format})`]
    .filter(Boolean)
    .join(' ')
}

function Constraints({ s }: { s: Schema }) {
  const parts: string[] = []
  if (s.enum) parts.push(`one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`)
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`)
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`)
  if (s.pattern) parts.push(`pattern ${s.pattern}`)
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`)
  if (parts.length === 0) return null
  return <span className="muted small"> — {parts.join('; ')}</span>
}

/** A schema as a nested list of fields. References link to the schema's section instead of expanding. */
export function SchemaView({ schema, depth = 0 }: { schema: Schema; depth?: number }) {
  if (schema.$ref) {
    return (
      <a href={`#schema-${refName(schema.$ref)}`} className="mono">
        {refName(schema.$ref)}
      </a>
    )
  }
  const variants = schema.oneOf ?? schema.anyOf ?? schema.allOf
  if (variants && depth < 6) {
    return (
      <div>
        <span className="muted small">{schema.allOf ? 'all of' : 'one of'}:</span>
        <ul className="schema">
          {variants.map((v, i) => (
            <li key={i}>
              <SchemaView schema={v} depth={depth + 1} />
            </li>
          ))}
        </ul>
      </div>
    )
  }
  if (schema.properties && depth < 6) {
    const required = new Set(schema.required ?? [])
    return (
      <ul className="schema">
        {Object.entries(schema.properties).map(([name, prop]) => (
          <li key={name}>
            <code>{name}</code>
            {required.has(name) && <span className="tag">required</span>} <span className="mono small">{typeLabel(prop)}</span>
            <Constraints s={prop} />
            {prop.description && <div className="small">{prop.description}</div>}
            {(prop.properties || prop.oneOf || prop.anyOf || (prop.items && (prop.items.properties || prop.items.$ref))) && (
              <SchemaView schema={prop.items && !prop.properties ? prop.items : prop} depth={depth + 1} />
            )}
          </li>
        ))}
      </ul>
    )
  }
  if (schema.items && depth < 6) {
    return (
      <div>
        <span className="mono small">array of </span>
        <SchemaView schema={schema.items} depth={depth + 1} />
      </div>
    )
  }
  return (
    <span className="mono small">
      {typeLabel(schema)}
      <Constraints s={schema} />
    </span>
  )
}
