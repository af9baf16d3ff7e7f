import {
  GraphQLError,
  Kind,
  print,
  visit,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values.js';

/** The variable that carries the entity an event changed into the rewritten query. */
export const ENTITY_VARIABLE = 'subscriptionEntityId';

export interface RewrittenSubscription {
  /** The root `Subscription` field (`orderUpdated`). */
  fieldName: string;
  /** Its arguments, coerced as the field defines them. */
  args: Record<string, unknown>;
  /** The query each event is answered with: `query Op($subscriptionEntityId: ID!, …) { orderUpdated: order(id: $subscriptionEntityId) { …the selection… } }`. */
  query: string;
  /** The subscriber's variables the query still uses (the event's id is added per event). */
  variables: Record<string, unknown>;
}

/**
 * Turns a validated subscription operation into the query that answers one of its events: the
 * root field becomes `queryField(id: $subscriptionEntityId)` under the subscription field's name as
 * alias (so results have the shape the subscriber asked for), its own arguments go (the router
 * used them to choose the events), and so do variables nothing else uses any more. Fragments and
 * the rest of the selection are kept as sent, so the query is exactly as costly and as deep.
 */
export function rewriteSubscription({
  schema,
  document,
  operation,
  variables,
  queryField,
}: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown> | undefined;
  queryField: string;
}): RewrittenSubscription {
  const root = operation.selectionSet.selections;
  const field = root.length === 1 && root[0]!.kind === Kind.FIELD ? (root[0] as FieldNode) : undefined;
  if (!field) throw badRequest('A subscription selects exactly one root field, without fragments or directives around it');
  if (field.directives?.length) throw badRequest('Directives on the root field of a subscription are not supported');
  const definition = schema.getSubscriptionType()?.getFields()[field.name.value];
  if (!definition) throw badRequest(`Subscription.${field.name.value} does not exist`);

  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) throw coerced.errors[0]!;
  const args = getArgumentValues(definition, field, coerced.coerced);

  const rewrittenField: FieldNode = {
    ...field,
    alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
    name: { kind: Kind.NAME, value: queryField },
    arguments: [
      {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: 'id' },
        value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ENTITY_VARIABLE } },
      },
    ],
  };
  const body: OperationDefinitionNode = {
    ...operation,
    operation: 'query' as OperationDefinitionNode['operation'],
    selectionSet: { ...operation.selectionSet, selections: [rewrittenField] },
  };
  // The operation with the fragments it (transitively) uses; other operations of the document go.
  const fragments = usedFragments(document, body);
  const used = usedVariables({ kind: Kind.DOCUMENT, definitions: [body, ...fragments] });
  const kept = (body.variableDefinitions ?? []).filter((definition) => used.has(definition.variable.name.value));
  if (kept.some((definition) => definition.variable.name.value === ENTITY_VARIABLE)) {
    throw badRequest(`$${ENTITY_VARIABLE} is the router's own variable in subscriptions; name yours differently`);
  }
  const query: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        ...body,
        variableDefinitions: [
          {
            kind: Kind.VARIABLE_DEFINITION,
            variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ENTITY_VARIABLE } },
            type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
          },
          ...kept,
        ],
      },
      ...fragments,
    ],
  };
  const keptVariables: Record<string, unknown> = {};
  for (const definition of kept) {
    const name = definition.variable.name.value;
    if (variables && Object.hasOwn(variables, name)) keptVariables[name] = variables[name];
  }
  return { fieldName: field.name.value, args, query: print(query), variables: keptVariables };
}

function usedFragments(document: DocumentNode, operation: OperationDefinitionNode): FragmentDefinitionNode[] {
  const byName = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) byName.set(definition.name.value, definition);
  const used = new Set<string>();
  const queue: ASTNode[] = [operation];
  while (queue.length) {
    visit(queue.pop()!, {
      FragmentSpread(node) {
        const name = node.name.value;
        const fragment = byName.get(name);
        if (used.has(name) || !fragment) return;
        used.add(name);
        queue.push(fragment);
      },
    });
  }
  return [...used].map((name) => byName.get(name)!);
}

function usedVariables(document: DocumentNode): Set<string> {
  const used = new Set<string>();
  visit(document, {
    VariableDefinition: () => false, // a definition is not a use
    Variable(node) {
      used.add(node.name.value);
    },
  });
  return used;
}

function badRequest(message: string) {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } });
}
