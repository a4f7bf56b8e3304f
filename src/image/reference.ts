/**
 * Image references, parsed and normalised exactly like Docker's
 * distribution/reference:  name[:tag][@digest]
 *
 *   parseReference("test:5000/repo:tag")     raw Parse(): no normalisation
 *   parseNormalizedNamed("busybox")          docker.io/library/busybox
 *   normalizeReference("busybox")            docker.io/library/busybox:latest
 *   parseDockerRef("busybox:1@sha256:...")   docker.io/library/busybox@sha256:... (digest wins)
 *   ref.familiarString()                     busybox:latest
 */
import { DigestError, parseDigest, type Digest } from './digest';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** Maximum total length of a repository name (domain + "/" + path). */
export const NAME_TOTAL_LENGTH_MAX = 255;

// ---- grammar (regexp.go) --------------------------------------------------
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const identifierPat = '([a-f0-9]{64})';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const anchoredIdentifierRegexp = new RegExp(`^${identifierPat}$`);

// ---- errors ----------------------------------------------------------------
export type ReferenceErrorCode =
  | 'invalid-format'
  | 'name-empty'
  | 'name-uppercase'
  | 'name-too-long'
  | 'tag-invalid'
  | 'identifier'
  | 'no-name'
  | 'digest';

export class ReferenceError extends Error {
  constructor(readonly code: ReferenceErrorCode, message: string) {
    super(message);
    this.name = 'ReferenceError';
  }
}

const FORMAT = 'invalid reference format';
const errInvalidFormat = () => new ReferenceError('invalid-format', FORMAT);
const errNameEmpty = () => new ReferenceError('name-empty', `${FORMAT}: repository name must have at least one component`);
const errUppercase = () => new ReferenceError('name-uppercase', `${FORMAT}: repository name must be lowercase`);
const errTooLong = () =>
  new ReferenceError('name-too-long', `${FORMAT}: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);

// ---- the reference value ----------------------------------------------------
export class ImageReference {
  /** Registry host[:port], "" when absent (raw parse) or for a digest-only reference. */
  readonly domain: string;
  /** Repository path ("library/busybox"), "" for a digest-only reference. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;

  constructor(domain: string, path: string, tag?: string, digest?: Digest) {
    this.domain = domain;
    this.path = path;
    this.tag = tag || undefined;
    this.digest = digest || undefined;
  }

  /** Full repository name: "docker.io/library/busybox". */
  name(): string {
    return this.domain === '' ? this.path : `${this.domain}/${this.path}`;
  }

  /** Name only (no tag, no digest). */
  isNameOnly(): boolean {
    return this.tag === undefined && this.digest === undefined;
  }

  toString(): string {
    const name = this.name();
    if (name === '') return this.digest ?? '';
    return name + (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }

  toJSON(): string {
    return this.toString();
  }

  /** The familiar (Docker UI) name: docker.io/library/busybox → busybox, docker.io/u/a → u/a. */
  familiarName(): string {
    return familiarize(this).name();
  }

  /** The familiar string: docker.io/library/busybox:latest → busybox:latest. */
  familiarString(): string {
    return familiarize(this).toString();
  }

  withTag(tag: string): ImageReference {
    if (!anchoredTagRegexp.test(tag)) throw new ReferenceError('tag-invalid', 'invalid tag format');
    return new ImageReference(this.domain, this.path, tag, this.digest);
  }

  withDigest(digest: string): ImageReference {
    return new ImageReference(this.domain, this.path, this.tag, parseDigestForRef(digest));
  }

  /** Drop tag and digest. */
  trimNamed(): ImageReference {
    return new ImageReference(this.domain, this.path);
  }
}

function familiarize(r: ImageReference): ImageReference {
  let domain = r.domain;
  let path = r.path;
  if (domain === DEFAULT_DOMAIN) {
    domain = '';
    if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
      const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
      if (!rest.includes('/')) path = rest;
    }
  }
  return new ImageReference(domain, path, r.tag, r.digest);
}

function parseDigestForRef(s: string): Digest {
  try {
    return parseDigest(s);
  } catch (e) {
    if (e instanceof DigestError) throw new ReferenceError('digest', `${FORMAT}: ${e.message}`);
    throw e;
  }
}

// ---- parsing ---------------------------------------------------------------

/** Docker's reference.Parse: syntax only, no normalisation (domain may be ""). */
export function parseReference(s: string): ImageReference {
  if (s === '') throw errNameEmpty();
  const m = referenceRegexp.exec(s);
  if (m === null) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRegexp.test(lower)) throw errUppercase();
    throw errInvalidFormat();
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw errTooLong();
  const nm = anchoredNameRegexp.exec(name);
  const domain = nm?.[1] ?? '';
  const path = nm ? nm[2]! : name;
  const digest = m[3] ? parseDigestForRef(m[3]) : undefined;
  return new ImageReference(domain, path, m[2], digest);
}

/** Split a name into Docker Hub-normalised domain and remainder (splitDockerDomain). */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === 'localhost') [domain, remote] = [maybeDomain, maybeRemote];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  else if (/[.:]/.test(maybeDomain)) [domain, remote] = [maybeDomain, maybeRemote];
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remote] = [maybeDomain, maybeRemote];
  else [domain, remote] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/**
 * Docker's ParseNormalizedNamed: turns a familiar name into a fully qualified
 * one (busybox → docker.io/library/busybox). Does not add a default tag.
 */
export function parseNormalizedNamed(s: string): ImageReference {
  if (anchoredIdentifierRegexp.test(s)) {
    throw new ReferenceError('identifier', `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new ReferenceError('name-uppercase', `${FORMAT}: repository name (${remote}) must be lowercase`);
  }
  const ref = parseReference(`${domain}/${remainder}`);
  if (ref.name() === '') throw new ReferenceError('no-name', `reference ${ref.toString()} has no name`);
  return ref;
}

/** Fully normalise: Docker Hub domain + "library/" + default tag "latest" when neither tag nor digest is given. */
export function normalizeReference(s: string): ImageReference {
  const ref = parseNormalizedNamed(s);
  return ref.isNameOnly() ? ref.withTag(DEFAULT_TAG) : ref;
}

/** Docker's ParseDockerRef: normalised; tag+digest → digest only; name only → :latest. */
export function parseDockerRef(s: string): ImageReference {
  const ref = parseNormalizedNamed(s);
  if (ref.tag !== undefined && ref.digest !== undefined) return new ImageReference(ref.domain, ref.path, undefined, ref.digest);
  return ref.isNameOnly() ? ref.withTag(DEFAULT_TAG) : ref;
}

/**
 * Docker's ParseAnyReference: a 64-hex identifier or a full digest becomes a
 * digest-only reference (name() === ""), anything else a normalised name.
 */
export function parseAnyReference(s: string): ImageReference {
  if (anchoredIdentifierRegexp.test(s)) return new ImageReference('', '', undefined, parseDigest(`sha256:${s}`));
  try {
    return new ImageReference('', '', undefined, parseDigest(s));
  } catch {
    return parseNormalizedNamed(s);
  }
}

/** Docker's FamiliarString on a string input (normalising first). */
export function familiarString(s: string): string {
  return parseNormalizedNamed(s).familiarString();
}

export function isValidTag(tag: string): boolean {
  return anchoredTagRegexp.test(tag);
}
