// Just enough of the OpenAPI 3.1 shape for the renderer.

export type Schema = {
  $ref?: string
  type?: string | string[]
  format?: string
  description?: string
  enum?: unknown[]
  const?: unknown
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  oneOf?: Schema[]
  anyOf?: Schema[]
  allOf?: Schema[]
  additionalProperties?: boolean | Schema
  default?: unknown
  example?: unknown
  nullable?: boolean
  minimum?: number
  maximum?: number
  pattern?: string
}

export interface Parameter {
  name: string
  in: string
  required?: boolean
  description?: string
  schema?: Schema
}

export interface MediaType {
  schema?: Schema
  example?: unknown
}

export interface Operation {
  summary?: string
  description?: string
  operationId?: string
  tags?: string[]
  parameters?: (Parameter | { $ref: string })[]
  requestBody?: { description?: string; required?: boolean; content?: Record<string, MediaType> }
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> } | { $ref: string }>
}

export interface OpenApiDoc {
  openapi?: string
  info?: { title?: string; version?: string; description?: string }
  paths?: Record<string, Record<string, Operation | Parameter[] | string>>
  components?: { schemas?: Record<string, Schema>; parameters?: Record<string, Parameter>; responses?: Record<string, unknown> }
}

export const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'] as const

export function refName(ref: string): string {
  return ref.split('/').pop() ?? ref
}

export function resolveRef<T>(doc: OpenApiDoc, value: T | { $ref: string }): T | null {
  if (value && typeof value === 'object' && '$ref' in value && typeof value.$ref === 'string') {
    const parts = value.$ref.replace(/^#\//, '').split('/')
    let cur: unknown = doc
    for (const p of parts) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined
    return (cur as T) ?? null
  }
  return value as T
}

export function anchorFor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '')}`
}
