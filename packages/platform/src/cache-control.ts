import {
  getNamedType,
  isCompositeType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * Cache policy, declared once as `@cacheControl(maxAge:, scope:)` in each subgraph's SDL and read
 * from there by both cache layers. The rules follow Apollo's cache-control semantics, simplified:
 *  - a field's own hint wins; otherwise the hint on the type it returns;
 *  - other fields inherit from their parent (they add no constraint);
 *  - a root field with no hint is not cacheable (maxAge 0), so caching is always opted into;
 *  - `_entities` takes the hints of the entity types and fields selected under it;
 *  - an operation's policy is the lowest maxAge of its fields, PRIVATE if any field is;
 *  - mutations are never cached.
 */
export type CacheScope = 'PUBLIC' | 'PRIVATE';

export interface CacheHint {
  maxAge: number;
  scope: CacheScope;
}

export interface CacheHints {
  /** `Type` → hint declared on the type. */
  types: Map<string, CacheHint>;
  /** `Type.field` → hint declared on the field. */
  fields: Map<string, CacheHint>;
}

/** The SDL that each subgraph includes to use the directive. */
export const CACHE_CONTROL_SDL = `enum CacheControlScope @inaccessible { PUBLIC PRIVATE }
directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`;

export function readCacheHints(typeDefs: DocumentNode): CacheHints {
  const types = new Map<string, CacheHint>();
  const fields = new Map<string, CacheHint>();
  for (const definition of typeDefs.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.UNION_TYPE_DEFINITION
    )
      continue;
    const typeHint = hintOf(definition.directives);
    if (typeHint) types.set(definition.name.value, typeHint);
    if ('fields' in definition) {
      for (const field of definition.fields ?? []) {
        const fieldHint = hintOf(field.directives);
        if (fieldHint) fields.set(`${definition.name.value}.${field.name.value}`, fieldHint);
      }
    }
  }
  return { types, fields };
}

function hintOf(directives: readonly DirectiveNode[] | undefined): CacheHint | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive) return undefined;
  let maxAge = 0;
  let scope: CacheScope = 'PUBLIC';
  for (const argument of directive.arguments ?? []) {
    if (argument.name.value === 'maxAge' && argument.value.kind === Kind.INT) maxAge = Number(argument.value.value);
    if (argument.name.value === 'scope' && argument.value.kind === Kind.ENUM)
      scope = argument.value.value === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC';
  }
  return { maxAge, scope };
}

/** The hint for one field of a type, by the rules above; undefined when it only inherits. */
export function fieldHint(hints: CacheHints, parentType: string, fieldName: string, returnType: string): CacheHint | undefined {
  return hints.fields.get(`${parentType}.${fieldName}`) ?? hints.types.get(returnType);
}

export type OperationPolicy = { cacheable: false } | { cacheable: true; maxAge: number; scope: CacheScope };

/** The policy of one operation against a schema, by static analysis of its selection. */
export function operationPolicy(
  schema: GraphQLSchema,
  document: DocumentNode,
  hints: CacheHints,
  operationName?: string | null,
): OperationPolicy {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (operation?.operation !== 'query') return { cacheable: false };
  let maxAge = Number.POSITIVE_INFINITY;
  let scope: CacheScope = 'PUBLIC';
  const apply = (hint: CacheHint) => {
    maxAge = Math.min(maxAge, hint.maxAge);
    if (hint.scope === 'PRIVATE') scope = 'PRIVATE';
  };
  const typeInfo = new TypeInfo(schema);
  const rootType = schema.getQueryType()?.name;
  visit(
    operation,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const fieldDef = typeInfo.getFieldDef();
        if (!parent || !fieldDef || node.name.value.startsWith('__')) return;
        const returnType = getNamedType(fieldDef.type);
        const isRoot = parent.name === rootType;
        if (isRoot && node.name.value === '_entities') return;
        const hint = fieldHint(hints, parent.name, node.name.value, returnType.name);
        if (hint) apply(hint);
        else if (isRoot) apply({ maxAge: 0, scope: 'PUBLIC' });
      },
      InlineFragment(node) {
        // Under _entities, the entity type's own hint applies to what is fetched for it.
        const typeName = node.typeCondition?.name.value;
        const hint = typeName ? hints.types.get(typeName) : undefined;
        if (hint && typeName && isCompositeType(schema.getType(typeName))) apply(hint);
      },
    }),
  );
  if (!Number.isFinite(maxAge) || maxAge <= 0) return { cacheable: false };
  return { cacheable: true, maxAge, scope };
}

/** The `Cache-Control` header value for a policy. */
export function cacheControlHeader(policy: OperationPolicy): string {
  if (!policy.cacheable) return 'no-store';
  return `${policy.scope === 'PRIVATE' ? 'private' : 'public'}, max-age=${policy.maxAge}`;
}

/** Parses a `Cache-Control` header back into a policy (what the router reads from subgraphs). */
export function parseCacheControl(header: string | null | undefined): OperationPolicy {
  if (!header || /no-store|no-cache/i.test(header)) return { cacheable: false };
  const maxAge = /max-age=(\d+)/i.exec(header);
  if (!maxAge || Number(maxAge[1]) <= 0) return { cacheable: false };
  return { cacheable: true, maxAge: Number(maxAge[1]), scope: /private/i.test(header) ? 'PRIVATE' : 'PUBLIC' };
}
