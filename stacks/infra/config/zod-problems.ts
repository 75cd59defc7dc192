/**
 * Turns zod issues into problems that name the field, the value and what is allowed; zod's own
 * messages ("Invalid input") name neither the value nor, for unknown keys, the allowed ones.
 */
import type { z } from 'zod';
import type { LocationProblem } from './location-config-error';

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

/** The keys an object schema allows at `path`, for "unknown field" messages. */
function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  for (const segment of [...path, null]) {
    // Unwrap optional/default wrappers to reach the object.
    while (current && (current.def.type === 'optional' || current.def.type === 'default')) {
      current = (current.def as unknown as { innerType: z.ZodType }).innerType;
    }
    if (!current) return [];
    if (segment === null) break;
    if (current.def.type === 'object') {
      current = (current as unknown as { shape: Record<string, z.ZodType> }).shape[String(segment)];
    } else if (current.def.type === 'array') {
      current = (current.def as unknown as { element: z.ZodType }).element;
    } else {
      return [];
    }
  }
  return current && current.def.type === 'object' ? Object.keys((current as unknown as { shape: object }).shape) : [];
}

function joinPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`))
    .join('');
}

export function problemsFromZod(file: string, schema: z.ZodType, error: z.ZodError): LocationProblem[] {
  const problems: LocationProblem[] = [];
  for (const issue of error.issues) {
    const field = joinPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    const got = `got ${describeValue(input)}`;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(schema, issue.path).join(', ');
        for (const key of issue.keys) {
          problems.push({ file, field: field ? `${field}.${key}` : key, message: `is not a known field (allowed: ${allowed})` });
        }
        break;
      }
      case 'invalid_type':
        problems.push({
          file,
          field,
          message: input === undefined ? 'is required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, ${got}`,
        });
        break;
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
        const message =
          issue.origin === 'array'
            ? `must list ${bound} entries, got ${Array.isArray(input) ? input.length : describeValue(input)}`
            : issue.origin === 'string'
              ? `must be ${bound} characters long, ${got}`
              : `must be ${bound}, ${got}`;
        problems.push({ file, field, message });
        break;
      }
      case 'invalid_format':
        problems.push({
          file,
          field,
          message: `must be ${issue.format === 'email' ? 'an e-mail address' : issue.message}, ${got}`,
        });
        break;
      case 'invalid_value':
        problems.push({ file, field, message: `must be one of ${issue.values.map(String).join(', ')}, ${got}` });
        break;
      case 'invalid_key': {
        const inner = issue.issues[0];
        const what = inner && 'message' in inner ? inner.message : 'a valid key';
        problems.push({ file, field: `${field}[${describeValue(input)}]`, message: `key must be ${what}` });
        break;
      }
      default:
        problems.push({ file, field, message: `${issue.message}, ${got}` });
    }
  }
  return problems;
}
