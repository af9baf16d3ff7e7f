import { Kind, parse, print, type DocumentNode, type OperationDefinitionNode, type OperationTypeNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { digest } from './keys.ts';
import { PER_ENTRY_BYTES, stringBytes } from './sizes.ts';

/** What the cache needs to know about one subgraph operation. */
export interface OperationShape {
  operation: OperationTypeNode | 'unknown';
  /** The single root field is `_entities(representations: $representations)`. */
  entities: boolean;
  /**
   * Digest of the operation without its name: the gateway names fetches after the client's
   * operation (`Listing__pricing__1`), which must not split the cache for the same selection.
   */
  selectionHash: string;
}

const UNKNOWN: OperationShape = { operation: 'unknown', entities: false, selectionHash: '' };

/** Bytes of operation text remembered: the texts come from clients' documents (each up to MAX_DOCUMENT_BYTES). */
const SHAPES_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Query plans are cached by the gateway, so the same few hundred operation texts come back again
 * and again: each is analysed once and remembered by its text (at most 2,000, and 8 MiB of them).
 */
export class OperationShapes {
  private readonly shapes = new LRUCache<string, OperationShape>({
    max: 2_000,
    maxSize: SHAPES_MAX_BYTES,
    sizeCalculation: (shape, query) => PER_ENTRY_BYTES + stringBytes(query) + stringBytes(shape.selectionHash),
  });

  of(query: string, document?: DocumentNode): OperationShape {
    let shape = this.shapes.get(query);
    if (!shape) {
      shape = analyse(query, document);
      this.shapes.set(query, shape);
    }
    return shape;
  }

  /** Accounted bytes held; for tests and diagnostics. */
  get bytes(): number {
    return this.shapes.calculatedSize;
  }
}

function analyse(query: string, given: DocumentNode | undefined): OperationShape {
  let document: DocumentNode;
  try {
    document = given ?? parse(query);
  } catch {
    return UNKNOWN; // the subgraph will say what is wrong with it; nothing to cache
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  // The gateway sends one operation per fetch; anything else is not ours to second-guess.
  if (operations.length !== 1) return UNKNOWN;
  const operation = operations[0]!;
  const [root, ...others] = operation.selectionSet.selections;
  const entities =
    others.length === 0 &&
    root?.kind === Kind.FIELD &&
    root.name.value === '_entities' &&
    !root.alias &&
    (root.arguments ?? []).some(
      (a) => a.name.value === 'representations' && a.value.kind === Kind.VARIABLE && a.value.name.value === 'representations',
    );
  const anonymous = {
    ...document,
    definitions: document.definitions.map((d) => (d === operation ? { ...operation, name: undefined } : d)),
  };
  return { operation: operation.operation, entities, selectionHash: digest(print(anonymous)) };
}
