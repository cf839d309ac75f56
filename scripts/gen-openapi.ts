#!/usr/bin/env node
// Generates src/generated/openapi-schemas.json: the OpenAPI v3 component schemas of the built-in kinds,
// named as upstream (io.k8s.api.core.v1.Pod …), with descriptions, required fields, formats, the
// x-kubernetes-group-version-kind of top-level kinds, and the patch metadata of src/api/openapi/patch-meta.ts.
//
// The source is the `kubernetes-types` package: its .d.ts files carry every API type with upstream's doc
// comments, so the schemas are derived at build time from a maintained dependency instead of committing
// upstream's generated documents. Run: node --import tsx scripts/gen-openapi.ts [--out FILE]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { PATCH_META, patchMetaExtensions } from '../src/api/openapi/patch-meta.ts';

type Schema = Record<string, unknown>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const typesDir = dirname(require.resolve('kubernetes-types/package.json'));
const typesVersion = (JSON.parse(readFileSync(join(typesDir, 'package.json'), 'utf8')) as { version: string }).version;

/** kubernetes-types module (path without .d.ts) → upstream schema-name prefix, for the groups Skiff serves. */
const MODULES: Record<string, string> = {
  'core/v1': 'io.k8s.api.core.v1',
  'apps/v1': 'io.k8s.api.apps.v1',
  'batch/v1': 'io.k8s.api.batch.v1',
  'coordination/v1': 'io.k8s.api.coordination.v1',
  'events/v1': 'io.k8s.api.events.v1',
  'discovery/v1': 'io.k8s.api.discovery.v1',
  'policy/v1': 'io.k8s.api.policy.v1',
  'scheduling/v1': 'io.k8s.api.scheduling.v1',
  'autoscaling/v1': 'io.k8s.api.autoscaling.v1',
  'autoscaling/v2': 'io.k8s.api.autoscaling.v2',
  'authentication/v1': 'io.k8s.api.authentication.v1',
  'authorization/v1': 'io.k8s.api.authorization.v1',
  'rbac/v1': 'io.k8s.api.rbac.v1',
  'certificates/v1': 'io.k8s.api.certificates.v1',
  'networking/v1': 'io.k8s.api.networking.v1',
  'storage/v1': 'io.k8s.api.storage.v1',
  'apiextensions/v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  version: 'io.k8s.apimachinery.pkg.version',
};

const REF = '#/components/schemas/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/**
 * kubernetes-types turns every Go integer into `number`; upstream marks int64 fields with format int64 and the
 * rest int32. These are the int64 field names of the served groups (all others are int32).
 */
const INT64_FIELDS = new Set([
  'generation', 'observedGeneration', 'deletionGracePeriodSeconds', 'gracePeriodSeconds', 'activeDeadlineSeconds',
  'terminationGracePeriodSeconds', 'runAsUser', 'runAsGroup', 'fsGroup', 'supplementalGroups', 'tolerationSeconds',
  'seconds', 'expirationSeconds', 'sizeBytes', 'revision', 'remainingItemCount', 'startingDeadlineSeconds',
]);

/** Schemas whose shape kubernetes-types cannot express (aliases of string, inlined unions, opaque objects). */
function specialSchema(name: string, description: string | undefined): Schema | undefined {
  const d = description === undefined ? {} : { description };
  switch (name) {
    case `${META}.Time`:
    case `${META}.MicroTime`:
      return { ...d, type: 'string', format: 'date-time' };
    case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
      return { ...d, oneOf: [{ type: 'string' }, { type: 'number' }] };
    case 'io.k8s.apimachinery.pkg.runtime.RawExtension':
    case `${META}.FieldsV1`:
      return { ...d, type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case `${META}.Patch`:
      return { ...d, type: 'object' };
    case 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON':
    case 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray':
    case 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool':
    case 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray':
      return { ...d, 'x-kubernetes-preserve-unknown-fields': true };
    default:
      return undefined;
  }
}

const INT_OR_STRING_SCHEMA: Schema = {
  description:
    'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
  format: 'int-or-string',
  oneOf: [{ type: 'integer' }, { type: 'string' }],
  'x-kubernetes-int-or-string': true,
};

/** Per-field shapes upstream has and the .d.ts files lose (byte maps). */
const FIELD_OVERRIDES: Record<string, Record<string, (s: Schema) => void>> = {
  'io.k8s.api.core.v1.Secret': { data: byteMap },
  'io.k8s.api.core.v1.ConfigMap': { binaryData: byteMap },
};
function byteMap(s: Schema): void {
  s['additionalProperties'] = { type: 'string', format: 'byte' };
}

function docOf(node: ts.Node): string | undefined {
  const parts: string[] = [];
  for (const d of ts.getJSDocCommentsAndTags(node)) {
    if (ts.isJSDoc(d) && d.comment !== undefined) parts.push(ts.getTextOfJSDocComment(d.comment) ?? '');
  }
  const text = parts.join('\n\n').trim();
  return text === '' ? undefined : text;
}

interface FileContext {
  prefix: string;
  /** Local or imported type name → full upstream schema name. */
  names: Map<string, string>;
}

function contextOf(sf: ts.SourceFile, module: string, prefix: string): FileContext {
  const names = new Map<string, string>();
  for (const st of sf.statements) {
    if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name !== undefined) {
      names.set(st.name.text, `${prefix}.${st.name.text}`);
    }
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = join(dirname(module), st.moduleSpecifier.text).replace(/\\/g, '/');
      const targetPrefix = MODULES[target];
      const bindings = st.importClause?.namedBindings;
      if (targetPrefix === undefined || bindings === undefined || !ts.isNamedImports(bindings)) continue;
      for (const el of bindings.elements) names.set(el.name.text, `${targetPrefix}.${(el.propertyName ?? el.name).text}`);
    }
  }
  return { prefix, names };
}

function refTo(name: string): Schema {
  return { $ref: REF + name };
}

/** The schema of a type node; `field` names the property (for integer formats). */
function convert(node: ts.TypeNode, ctx: FileContext, field: string): Schema {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.NumberKeyword:
      return { type: 'integer', format: INT64_FIELDS.has(field) ? 'int64' : 'int32' };
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
      return { 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (ts.isLiteralTypeNode(node)) {
    if (ts.isStringLiteral(node.literal)) return { type: 'string' };
    if (node.literal.kind === ts.SyntaxKind.TrueKeyword || node.literal.kind === ts.SyntaxKind.FalseKeyword) return { type: 'boolean' };
  }
  if (ts.isParenthesizedTypeNode(node)) return convert(node.type, ctx, field);
  if (ts.isArrayTypeNode(node)) return { type: 'array', items: convert(node.elementType, ctx, field) };
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    const arg = node.typeArguments?.[0];
    if (name === 'Array' && arg !== undefined) return { type: 'array', items: convert(arg, ctx, field) };
    const full = ctx.names.get(name);
    if (full === undefined) throw new Error(`unresolved type ${name} in ${ctx.prefix}`);
    return refTo(full);
  }
  if (ts.isUnionTypeNode(node)) {
    const kinds = new Set(node.types.map((t) => t.kind));
    if (kinds.size === 2 && kinds.has(ts.SyntaxKind.NumberKeyword) && kinds.has(ts.SyntaxKind.StringKeyword)) return refTo(INT_OR_STRING);
    // A union of string literals is an enum-like string field.
    if (node.types.every((t) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal))) return { type: 'string' };
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index !== undefined && node.members.length === 1) return { type: 'object', additionalProperties: convert(index.type, ctx, field) };
  }
  throw new Error(`unsupported type node ${ts.SyntaxKind[node.kind]} (${node.getText()}) in ${ctx.prefix}`);
}

/** Wraps a `$ref` in allOf when it carries siblings, because OpenAPI v3.0 ignores a $ref's siblings (upstream does the same). */
function withSiblings(schema: Schema, siblings: Schema): Schema {
  if (typeof schema['$ref'] === 'string') return { allOf: [schema], ...siblings };
  return { ...schema, ...siblings };
}

function interfaceSchema(decl: ts.InterfaceDeclaration, ctx: FileContext, name: string): Schema {
  const description = docOf(decl);
  const special = specialSchema(name, description);
  if (special !== undefined) return special;
  if (decl.members.length === 0) return { ...(description === undefined ? {} : { description }), type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  let apiVersion: string | undefined;
  let kind: string | undefined;
  const members = decl.members.filter(ts.isPropertySignature).sort((a, b) => propName(a).localeCompare(propName(b)));
  for (const m of members) {
    const field = propName(m);
    if (m.type === undefined) continue;
    if (ts.isLiteralTypeNode(m.type) && ts.isStringLiteral(m.type.literal)) {
      if (field === 'apiVersion') apiVersion = m.type.literal.text;
      if (field === 'kind') kind = m.type.literal.text;
    }
    const doc = docOf(m);
    const meta = PATCH_META[name]?.[field];
    const siblings: Schema = { ...(doc === undefined ? {} : { description: doc }), ...(meta === undefined ? {} : patchMetaExtensions(meta)) };
    const prop = withSiblings(convert(m.type, ctx, field), siblings);
    FIELD_OVERRIDES[name]?.[field]?.(prop);
    properties[field] = prop;
    if (m.questionToken === undefined) required.push(field);
  }
  const schema: Schema = { ...(description === undefined ? {} : { description }), type: 'object', properties };
  if (required.length > 0) schema['required'] = required;
  if (apiVersion !== undefined && kind !== undefined) {
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    schema['x-kubernetes-group-version-kind'] = [{ group, kind, version }];
  }
  return schema;
}

function propName(m: ts.PropertySignature): string {
  return ts.isIdentifier(m.name) || ts.isStringLiteral(m.name) ? m.name.text : m.name.getText();
}

function aliasSchema(decl: ts.TypeAliasDeclaration, ctx: FileContext, name: string): Schema {
  const description = docOf(decl);
  const special = specialSchema(name, description);
  if (special !== undefined) return special;
  return withSiblings(convert(decl.type, ctx, ''), description === undefined ? {} : { description });
}

/** Builds every schema of the served modules, keyed by upstream name, in sorted order; patch-meta entries with no schema field are pushed to `unmatched`. */
export function generateSchemas(unmatched: string[] = []): Record<string, Schema> {
  const out: Record<string, Schema> = { [INT_OR_STRING]: INT_OR_STRING_SCHEMA };
  for (const [module, prefix] of Object.entries(MODULES)) {
    const file = join(typesDir, `${module}.d.ts`);
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const ctx = contextOf(sf, module, prefix);
    for (const st of sf.statements) {
      if (ts.isInterfaceDeclaration(st)) out[`${prefix}.${st.name.text}`] = interfaceSchema(st, ctx, `${prefix}.${st.name.text}`);
      else if (ts.isTypeAliasDeclaration(st)) out[`${prefix}.${st.name.text}`] = aliasSchema(st, ctx, `${prefix}.${st.name.text}`);
    }
  }
  // A patch-meta entry naming a schema or field that does not exist is either a typo or a field newer than the
  // kubernetes-types release in use: report it (the test suite pins the expected set).
  for (const [schemaName, fields] of Object.entries(PATCH_META)) {
    const props = out[schemaName]?.['properties'] as Record<string, unknown> | undefined;
    for (const field of Object.keys(fields)) {
      if (props === undefined || !(field in props)) unmatched.push(`${schemaName}.${field}`);
    }
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k] as Schema]));
}

function main(): void {
  const args = process.argv.slice(2);
  const outArg = args[args.indexOf('--out') + 1];
  const outFile = args.includes('--out') && outArg !== undefined ? resolve(outArg) : join(root, 'src/generated/openapi-schemas.json');
  const unmatched: string[] = [];
  const schemas = generateSchemas(unmatched);
  if (unmatched.length > 0) process.stderr.write(`gen-openapi: patch-meta fields absent from kubernetes-types@${typesVersion}: ${unmatched.join(', ')}\n`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ source: `kubernetes-types@${typesVersion}`, schemas }) + '\n');
  process.stderr.write(`gen-openapi: ${Object.keys(schemas).length} schemas → ${relative(process.cwd(), outFile)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
