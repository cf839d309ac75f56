/**
 * A compact description of the Kubernetes protobuf messages we decode. Field numbers are facts
 * from upstream's generated.proto files; the notation is ours.
 *
 * One message is one string of space-separated fields, each `jsonName=number[:type][suffixes]`:
 *   type      string (default) | int32 | int64 | bool | bytes | double | <MessageName>
 *   []        repeated field (a JSON array)
 *   {}        map<string, type> (a JSON object)
 *   *         keep a zero value: the Go field is a pointer or has no `omitempty`, so an explicit
 *             0/false/"" is meaningful (gogo-protobuf always writes non-pointer scalars, so a zero
 *             on the wire usually just means "unset")
 *   ^name     the Go struct is embedded with `json:",inline"`: its fields merge into the parent
 */

/** Scalar protobuf types used by Kubernetes' messages. */
export type ScalarType = 'string' | 'int32' | 'int64' | 'bool' | 'bytes' | 'double';

/** One field of a message. */
export interface FieldSpec {
  readonly name: string;
  readonly num: number;
  /** A ScalarType or a message name. */
  readonly type: string;
  readonly label: 'single' | 'repeated' | 'map';
  readonly keepZero: boolean;
  readonly inline: boolean;
}

/** A message: its fields by number. */
export interface MessageSpec {
  readonly name: string;
  readonly fields: ReadonlyMap<number, FieldSpec>;
}

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'int32', 'int64', 'bool', 'bytes', 'double']);

/** True when `type` is a scalar rather than a message name. */
export function isScalar(type: string): type is ScalarType {
  return SCALARS.has(type);
}

const FIELD = /^(\^?)([A-Za-z_][A-Za-z0-9_]*)=([1-9][0-9]*)(?::([A-Za-z][A-Za-z0-9]*))?(\[\]|\{\})?(\*)?$/;

/** Parses one message description; throws on malformed text or a duplicate field number. */
export function parseMessage(name: string, text: string): MessageSpec {
  const fields = new Map<number, FieldSpec>();
  for (const token of text.split(/\s+/).filter(Boolean)) {
    const m = FIELD.exec(token);
    if (!m) throw new Error(`schema ${name}: bad field ${JSON.stringify(token)}`);
    const [, caret, fieldName, num, type, suffix, star] = m;
    const n = Number(num);
    if (fields.has(n)) throw new Error(`schema ${name}: field number ${n} used twice`);
    fields.set(n, {
      name: fieldName as string,
      num: n,
      type: type ?? 'string',
      label: suffix === '[]' ? 'repeated' : suffix === '{}' ? 'map' : 'single',
      keepZero: star === '*',
      inline: caret === '^',
    });
  }
  return { name, fields };
}

/** Parses several tables of messages into one registry; a name defined twice is an error. */
export function buildRegistry(...tables: Record<string, string>[]): ReadonlyMap<string, MessageSpec> {
  const out = new Map<string, MessageSpec>();
  for (const table of tables) {
    for (const [name, text] of Object.entries(table)) {
      if (out.has(name)) throw new Error(`schema: message ${name} defined twice`);
      out.set(name, parseMessage(name, text));
    }
  }
  for (const msg of out.values()) {
    for (const f of msg.fields.values()) {
      if (!isScalar(f.type) && !out.has(f.type)) throw new Error(`schema ${msg.name}.${f.name}: unknown type ${f.type}`);
      if (f.inline && (f.label !== 'single' || isScalar(f.type))) throw new Error(`schema ${msg.name}.${f.name}: only single messages can be inline`);
    }
  }
  return out;
}
