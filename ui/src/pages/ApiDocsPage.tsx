import { useEffect, useState } from 'react'
import { PageHeading } from '../components/PageHeading'
import { api } from '../lib/api'
import { apiUrl } from '../lib/config'
import { anchorFor, METHODS, resolveRef, type MediaType, type OpenApiDoc, type Operation, type Parameter } from './apidocs/openapi'
import { SchemaView } from './apidocs/SchemaView'

function Content({ content }: { content?: Record<string, MediaType> }) {
  if (!content) return null
  return (
    <>
      {Object.entries(content).map(([type, media]) => (
        <div key={type} className="media">
          <span className="muted small">{type}</span>
          {media.schema && <SchemaView schema={media.schema} />}
          {media.example !== undefined && <pre className="example">{JSON.stringify(media.example, null, 2)}</pre>}
        </div>
      ))}
    </>
  )
}

function OperationView({ doc, method, path, op }: { doc: OpenApiDoc; method: string; path: string; op: Operation }) {
  const params = (op.parameters ?? []).map((p) => resolveRef<Parameter>(doc, p)).filter((p): p is Parameter => !!p)
  return (
    <article className="card api-op" id={anchorFor(method, path)}>
      <h3>
        <span className={`method m-${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
      </h3>
      {op.summary && <p>{op.summary}</p>}
      {op.description && <p className="small pre-line">{op.description}</p>}
      {params.length > 0 && (
        <>
          <h4>Parameters</h4>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">In</th>
                  <th scope="col">Type</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {params.map((p) => (
                  <tr key={`${p.in}:${p.name}`}>
                    <td>
                      <code>{p.name}</code>
                      {p.required && <span className="tag">required</span>}
                    </td>
                    <td>{p.in}</td>
                    <td>{p.schema ? <SchemaView schema={p.schema} /> : '—'}</td>
                    <td>{p.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {op.requestBody && (
        <>
          <h4>Request body{op.requestBody.required ? ' (required)' : ''}</h4>
          {op.requestBody.description && <p className="small">{op.requestBody.description}</p>}
          <Content content={op.requestBody.content} />
        </>
      )}
      {op.responses && (
        <>
          <h4>Responses</h4>
          <ul className="responses">
            {Object.entries(op.responses).map(([code, r]) => {
              const resp = resolveRef<{ description?: string; content?: Record<string, MediaType> }>(doc, r)
              return (
                <li key={code}>
                  <strong className={`code c${code[0]}`}>{code}</strong> {resp?.description}
                  <Content content={resp?.content} />
                </li>
              )
            })}
          </ul>
        </>
      )}
    </article>
  )
}

export default function ApiDocsPage() {
  const [doc, setDoc] = useState<OpenApiDoc | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    api
      .openapi()
      .then((d) => {
        setDoc(d as OpenApiDoc)
        // The content arrives after the browser tried to scroll to #anchor: scroll once it is rendered.
        const id = decodeURIComponent(window.location.hash.slice(1))
        if (id) requestAnimationFrame(() => document.getElementById(id)?.scrollIntoView())
      })
      .catch((e: Error) => setError(e.message))
  }, [])

  const ops: { method: string; path: string; op: Operation }[] = []
  for (const [path, item] of Object.entries(doc?.paths ?? {})) {
    for (const m of METHODS) {
      const op = item[m]
      if (op && typeof op === 'object' && !Array.isArray(op)) ops.push({ method: m, path, op: op as Operation })
    }
  }

  return (
    <section className="api-docs">
      <PageHeading title="HTTP API" />
      <p className="lead">
        {doc?.info?.title ?? 'Refractor API'} {doc?.info?.version && <span className="muted">v{doc.info.version}</span>}. The
        machine-readable description is at{' '}
        <a href={apiUrl('/openapi.json')}>
          <code>/openapi.json</code>
        </a>
        .
      </p>
      {error && <p className="alert bad">The API description could not be loaded: {error}</p>}
      {!doc && !error && <p className="muted">Loading…</p>}
      {doc?.info?.description && <p className="pre-line">{doc.info.description}</p>}
      {ops.length > 0 && (
        <nav className="card" aria-labelledby="api-toc">
          <h2 id="api-toc">Routes</h2>
          <ul className="toc">
            {ops.map(({ method, path, op }) => (
              <li key={`${method} ${path}`}>
                <a href={`#${anchorFor(method, path)}`}>
                  <span className={`method m-${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
                </a>
                {op.summary && <span className="muted small"> — {op.summary}</span>}
              </li>
            ))}
          </ul>
        </nav>
      )}
      {ops.map(({ method, path, op }) => (
        <OperationView key={`${method} ${path}`} doc={doc!} method={method} path={path} op={op} />
      ))}
      {doc?.components?.schemas && (
        <>
          <h2>Schemas</h2>
          {Object.entries(doc.components.schemas).map(([name, schema]) => (
            <article key={name} className="card" id={`schema-${name}`}>
              <h3>
                <code>{name}</code>
              </h3>
              {schema.description && <p className="small">{schema.description}</p>}
              <SchemaView schema={schema} />
            </article>
          ))}
        </>
      )}
    </section>
  )
}
