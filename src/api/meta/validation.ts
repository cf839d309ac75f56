/**
 * apimachinery validation: the string checks of k8s.io/apimachinery/pkg/util/validation, the name validators of
 * pkg/api/validation, and ObjectMeta validation. Messages are upstream's verbatim (Kubernetes 1.30), because
 * clients and people match on them.
 */
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from './field-errors.ts';
import { fieldError } from './field-errors.ts';

/** Validates a metadata.name; `prefix` = validating a generateName prefix. Returns problem messages. */
export type NameValidator = (name: string, prefix: boolean) => string[];

// --- message helpers (validation.MaxLenError & co) ---------------------------------------------------------

/** "must be no more than N characters". */
export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/** The explanation of a regex failure, with examples, worded as validation.RegexError. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // Upstream joins "'a', " pieces with " or ", hence its double space: "(e.g. 'my-name',  or '123-abc', ...".
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

/** "must be non-empty". */
export function emptyError(): string {
  return 'must be non-empty';
}

/** "must be between lo and hi, inclusive". */
export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

// Go's len() counts bytes; names are mostly ASCII but the limits are byte limits.
const utf8 = new TextEncoder();
function byteLen(s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : utf8.encode(s).length;
}

// --- DNS names ---------------------------------------------------------------------------------------------

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelErrMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const dns1123LabelRegexp = new RegExp(`^${dns1123LabelFmt}$`);
/** Max length of an RFC 1123 label. */
export const DNS1123LabelMaxLength = 63;

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainErrorMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const dns1123SubdomainRegexp = new RegExp(`^${dns1123SubdomainFmt}$`);
/** Max length of an RFC 1123 subdomain. */
export const DNS1123SubdomainMaxLength = 253;

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelErrMsg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const dns1035LabelRegexp = new RegExp(`^${dns1035LabelFmt}$`);
/** Max length of an RFC 1035 label. */
export const DNS1035LabelMaxLength = 63;

/** Problems with `v` as an RFC 1123 label (e.g. a namespace name); empty when valid. */
export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1123LabelRegexp.test(v)) {
    // A valid subdomain that is not a label can only be wrong because of its dots.
    if (dns1123SubdomainRegexp.test(v)) errs.push('must not contain dots');
    else errs.push(regexError(dns1123LabelErrMsg, dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

/** Problems with `v` as an RFC 1123 subdomain (most object names); empty when valid. */
export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!dns1123SubdomainRegexp.test(v)) errs.push(regexError(dns1123SubdomainErrorMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

/** Problems with `v` as an RFC 1035 label (e.g. a Service name); empty when valid. */
export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1035LabelMaxLength) errs.push(maxLenError(DNS1035LabelMaxLength));
  if (!dns1035LabelRegexp.test(v)) errs.push(regexError(dns1035LabelErrMsg, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

// --- qualified names and label values ----------------------------------------------------------------------

const qnameCharFmt = '[A-Za-z0-9]';
const qnameExtCharFmt = '[-A-Za-z0-9_.]';
const qualifiedNameFmt = `(${qnameCharFmt}${qnameExtCharFmt}*)?${qnameCharFmt}`;
const qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const qualifiedNameMaxLength = 63;
const qualifiedNameRegexp = new RegExp(`^${qualifiedNameFmt}$`);

/** Problems with `v` as a qualified name ("[prefix/]name", label and annotation keys); empty when valid. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (byteLen(name) > qualifiedNameMaxLength) errs.push(`name part ${maxLenError(qualifiedNameMaxLength)}`);
  if (!qualifiedNameRegexp.test(name)) {
    errs.push(`name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueErrMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
/** Max length of a label value. */
export const LabelValueMaxLength = 63;
const labelValueRegexp = new RegExp(`^${labelValueFmt}$`);

/** Problems with `v` as a label value; empty when valid. */
export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > LabelValueMaxLength) errs.push(maxLenError(LabelValueMaxLength));
  if (!labelValueRegexp.test(v)) errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

// --- other formats ------------------------------------------------------------------------------------------

const cIdentifierFmt = '[A-Za-z_][A-Za-z0-9_]*';
const identifierErrMsg = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const cIdentifierRegexp = new RegExp(`^${cIdentifierFmt}$`);

/** Problems with `v` as a C identifier (format only, not length); empty when valid. */
export function isCIdentifier(v: string): string[] {
  return cIdentifierRegexp.test(v) ? [] : [regexError(identifierErrMsg, cIdentifierFmt, 'my_name', 'MY_NAME', 'MyName')];
}

/** Problems with `n` as a non-zero port number (1-65535); empty when valid. */
export function isValidPortNum(n: number): string[] {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** Problems with `n` as a value within [lo, hi]; empty when valid. */
export function isInRange(n: number, lo: number, hi: number): string[] {
  return n >= lo && n <= hi ? [] : [inclusiveRangeError(lo, hi)];
}

/** Problems with `v` as an IANA service (port) name: 1-15 of [-a-z0-9], a letter, no "--", no edge hyphens. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.length > 0 && (v.startsWith('-') || v.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

// netutils.ParseIPSloppy: like Go's net.ParseIP but IPv4 octets may carry leading zeros.
function parseIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

function parseIPv6(s: string): boolean {
  if (s.length === 0) return false;
  let groups = 0;
  let ellipsis = false;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = true;
    rest = rest.slice(2);
    if (rest.length === 0) return true;
  }
  while (rest.length > 0) {
    const m = /^[0-9a-fA-F]{1,4}/.exec(rest);
    if (!m) return false;
    // An embedded IPv4 address may end the address ("::ffff:1.2.3.4").
    if (rest[m[0].length] === '.') {
      if (!parseIPv4(rest)) return false;
      groups += 2;
      rest = '';
      break;
    }
    groups++;
    rest = rest.slice(m[0].length);
    if (rest.length === 0) break;
    if (!rest.startsWith(':')) return false;
    rest = rest.slice(1);
    if (rest.startsWith(':')) {
      if (ellipsis) return false;
      ellipsis = true;
      rest = rest.slice(1);
      if (rest.length === 0) break;
    } else if (rest.length === 0) {
      return false;
    }
    if (groups > 8) return false;
  }
  return ellipsis ? groups < 8 : groups === 8;
}

/** True when `v` is an IPv4 or IPv6 address as Kubernetes parses them (leading zeros in IPv4 tolerated). */
export function parseableIP(v: string): boolean {
  return v.includes(':') ? parseIPv6(v) : parseIPv4(v);
}

/** Problems with `v` as an IP address; empty when valid. */
export function isValidIP(v: string): string[] {
  return parseableIP(v) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'];
}

function hasChDirPrefix(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

const envVarNameFmt = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const envVarNameFmtErrMsg = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

/** Problems with `v` as an environment variable name; empty when valid. */
export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!new RegExp(`^${envVarNameFmt}$`).test(v)) {
    errs.push(regexError(envVarNameFmtErrMsg, envVarNameFmt, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  }
  errs.push(...hasChDirPrefix(v));
  return errs;
}

const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const configMapKeyErrMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/** Problems with `v` as a ConfigMap or Secret key; empty when valid. */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!new RegExp(`^${configMapKeyFmt}$`).test(v)) {
    errs.push(regexError(configMapKeyErrMsg, configMapKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  }
  errs.push(...hasChDirPrefix(v));
  return errs;
}

const httpHeaderNameFmt = '[-A-Za-z0-9]+';
const httpHeaderNameErrMsg = "a valid HTTP header must consist of alphanumeric characters or '-'";

/** Problems with `v` as an HTTP header name; empty when valid. */
export function isHTTPHeaderName(v: string): string[] {
  return new RegExp(`^${httpHeaderNameFmt}$`).test(v) ? [] : [regexError(httpHeaderNameErrMsg, httpHeaderNameFmt, 'X-Header-Name')];
}

const percentFmt = '[0-9]+%';
const percentErrMsg = "a valid percent string must be a numeric string followed by an ending '%'";

/** Problems with `v` as a percentage string ("25%"); empty when valid. */
export function isValidPercent(v: string): string[] {
  return new RegExp(`^${percentFmt}$`).test(v) ? [] : [regexError(percentErrMsg, percentFmt, '1%', '93%')];
}

// --- name validators (pkg/api/validation) -------------------------------------------------------------------

// A generateName prefix may end in '-' (random characters follow). Upstream replaces the last TWO characters
// with "a"; that quirk is kept so that the same prefixes are accepted and rejected.
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

/** metadata.name must be a DNS subdomain (most kinds). */
export const nameIsDNSSubdomain: NameValidator = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
/** metadata.name must be an RFC 1123 label (e.g. Namespace). */
export const nameIsDNSLabel: NameValidator = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
/** metadata.name must be an RFC 1035 label (e.g. Service). */
export const nameIsDNS1035Label: NameValidator = (name, prefix) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);
/** metadata.name only has to be safe as a URL path segment (e.g. RBAC kinds). */
export const validatePathSegmentName: NameValidator = (name, prefix) => {
  if (!prefix) {
    for (const bad of ['.', '..']) if (name === bad) return [`may not be '${bad}'`];
  }
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
};
/** Namespace names are RFC 1123 labels. */
export const validateNamespaceName: NameValidator = nameIsDNSLabel;

// --- ObjectMeta -----------------------------------------------------------------------------------------------

/** The message of an immutable-field error. */
export const FieldImmutableErrorMsg = 'field is immutable';
/** The message of a negative-value error. */
export const IsNegativeErrorMsg = 'must be greater than or equal to 0';
/** The limit on the total size of an object's annotations (keys plus values, in bytes). */
export const TotalAnnotationSizeLimitB = 256 * (1 << 10);

function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Validates label keys (qualified names) and values at `path` (e.g. "metadata.labels"). */
export function validateLabels(labels: Record<string, string> | undefined | null, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const msg of isQualifiedName(k)) errs.push(fieldError.invalid(path, k, msg));
    for (const msg of isValidLabelValue(v)) errs.push(fieldError.invalid(path, v, msg));
  }
  return errs;
}

/** Validates annotation keys (case-insensitive qualified names) and their total size (≤ 256 KiB). */
export function validateAnnotations(annotations: Record<string, string> | undefined | null, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldError.invalid(path, k, msg));
    total += byteLen(k) + byteLen(v);
  }
  if (total > TotalAnnotationSizeLimitB) {
    errs.push({ type: 'FieldValueTooLong', field: path, detail: `may not be more than ${TotalAnnotationSizeLimitB} bytes` });
  }
  return errs;
}

function parseGroupVersion(apiVersion: string): { group: string; version: string } {
  if (apiVersion === '' || apiVersion === '/') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] ?? '' };
  if (parts.length === 2) return { group: parts[0] ?? '', version: parts[1] ?? '' };
  return { group: '', version: '' };
}

/** Validates ownerReferences: apiVersion, kind, name and uid set, no Event owners, at most one controller. */
export function validateOwnerReferences(refs: OwnerReference[] | undefined | null, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let firstController = '';
  for (const ref of refs ?? []) {
    const gv = parseGroupVersion(ref.apiVersion ?? '');
    if (!gv.version) errs.push(fieldError.invalid(child(path, 'apiVersion'), ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(fieldError.invalid(child(path, 'kind'), ref.kind ?? '', 'must not be empty'));
    if (!ref.name) errs.push(fieldError.invalid(child(path, 'name'), ref.name ?? '', 'must not be empty'));
    if (!ref.uid) errs.push(fieldError.invalid(child(path, 'uid'), ref.uid ?? '', 'must not be empty'));
    if (gv.group === '' && gv.version === 'v1' && ref.kind === 'Event') {
      errs.push(fieldError.invalid(path, ref, `${gv.group}/${gv.version}, Kind=${ref.kind} is disallowed from being an owner`));
    }
    if (ref.controller === true) {
      const name = `${ref.kind}/${ref.name}`;
      if (firstController !== '') {
        errs.push(fieldError.invalid(path, refs,
          `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`));
      } else {
        firstController = name;
      }
    }
  }
  return errs;
}

/** Validates finalizer names (qualified names) and forbids orphan together with foregroundDeletion. */
export function validateFinalizers(finalizers: string[] | undefined | null, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = finalizers ?? [];
  for (const f of list) for (const msg of isQualifiedName(f)) errs.push(fieldError.invalid(path, f, msg));
  if (list.includes('orphan') && list.includes('foregroundDeletion')) {
    errs.push(fieldError.invalid(path, list, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** Rejects a negative value ("must be greater than or equal to 0"); undefined is accepted. */
export function validateNonnegative(value: number | undefined | null, path: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [fieldError.invalid(path, value, IsNegativeErrorMsg)] : [];
}

/** Rejects a value that is not strictly positive ("must be greater than 0"); undefined is accepted. */
export function validatePositive(value: number | undefined | null, path: string): FieldError[] {
  return typeof value === 'number' && value <= 0 ? [fieldError.invalid(path, value, 'must be greater than 0')] : [];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// equality.Semantic.DeepEqual: like deep equality, but a missing value equals an empty string, list or map.
function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

/** Deep equality with Kubernetes' semantics: unset, "", [] and {} are all equal to each other. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmptyValue(a) && isEmptyValue(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Rejects a change: "field is immutable" with the new value, unless old and new are semantically equal. */
export function validateImmutableField(newV: unknown, oldV: unknown, path: string): FieldError[] {
  return semanticEqual(newV, oldV) ? [] : [fieldError.invalid(path, newV ?? '', FieldImmutableErrorMsg)];
}

/**
 * Validates the ObjectMeta of a new object as upstream ValidateObjectMeta: generateName and name (with
 * `nameValidator`), namespace required (namespaced) or forbidden (cluster-scoped), generation, labels,
 * annotations, ownerReferences and finalizers. `path` defaults to "metadata".
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  opts: { namespaced: boolean; nameValidator: NameValidator; path?: string },
): FieldError[] {
  const path = opts.path ?? 'metadata';
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName) {
    for (const msg of opts.nameValidator(m.generateName, true)) errs.push(fieldError.invalid(child(path, 'generateName'), m.generateName, msg));
  }
  if (!m.name) {
    errs.push(fieldError.required(child(path, 'name'), 'name or generateName is required'));
  } else {
    for (const msg of opts.nameValidator(m.name, false)) errs.push(fieldError.invalid(child(path, 'name'), m.name, msg));
  }
  if (opts.namespaced) {
    if (!m.namespace) {
      errs.push(fieldError.required(child(path, 'namespace'), ''));
    } else {
      for (const msg of validateNamespaceName(m.namespace, false)) errs.push(fieldError.invalid(child(path, 'namespace'), m.namespace, msg));
    }
  } else if (m.namespace) {
    errs.push(fieldError.forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  errs.push(...validateNonnegative(m.generation, child(path, 'generation')));
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, child(path, 'finalizers')));
  return errs;
}

/**
 * Validates the ObjectMeta of an update as upstream ValidateObjectMetaUpdate: no new finalizers once deleting,
 * resourceVersion present (unless `requireResourceVersion: false`), generation not decremented; name,
 * namespace, uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds immutable ("field is
 * immutable"); and labels, annotations, ownerReferences and finalizers of the new metadata valid.
 */
export function validateObjectMetaUpdate(
  meta: ObjectMeta,
  old: ObjectMeta,
  opts: { path?: string; requireResourceVersion?: boolean } = {},
): FieldError[] {
  const path = opts.path ?? 'metadata';
  const errs: FieldError[] = [];
  if (old.deletionTimestamp) {
    const oldSet = new Set(old.finalizers ?? []);
    const extra = [...new Set((meta.finalizers ?? []).filter((f) => !oldSet.has(f)))].sort();
    if (extra.length > 0) {
      errs.push(fieldError.forbidden(child(path, 'finalizers'),
        `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(', ')}}`));
    }
  }
  if ((opts.requireResourceVersion ?? true) && !meta.resourceVersion) {
    errs.push(fieldError.invalid(child(path, 'resourceVersion'), meta.resourceVersion ?? '', 'must be specified for an update'));
  }
  if ((meta.generation ?? 0) < (old.generation ?? 0)) {
    errs.push(fieldError.invalid(child(path, 'generation'), meta.generation ?? 0, 'must not be decremented'));
  }
  errs.push(...validateImmutableField(meta.name, old.name, child(path, 'name')));
  errs.push(...validateImmutableField(meta.namespace, old.namespace, child(path, 'namespace')));
  errs.push(...validateImmutableField(meta.uid, old.uid, child(path, 'uid')));
  errs.push(...validateImmutableField(meta.creationTimestamp, old.creationTimestamp, child(path, 'creationTimestamp')));
  errs.push(...validateImmutableField(meta.deletionTimestamp, old.deletionTimestamp, child(path, 'deletionTimestamp')));
  errs.push(...validateImmutableField(meta.deletionGracePeriodSeconds, old.deletionGracePeriodSeconds, child(path, 'deletionGracePeriodSeconds')));
  errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(meta.finalizers, child(path, 'finalizers')));
  return errs;
}
