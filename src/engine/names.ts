/**
 * Container IDs and names as Docker makes them: a 64-hex random ID (never all digits, so a
 * short prefix can't be mistaken for a number), and a generated `adjective_surname` name when
 * the request gives none. Names match Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
 */
import { randomBytes } from 'node:crypto';

export function newContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (/[a-f]/.test(id.slice(0, 12))) return id;
  }
}

export const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class InvalidNameError extends Error {}

/** Canonical form: without the leading slash Docker keeps internally. */
export function validateName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidNameError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.replace(/^\//, '');
}

const LEFT = [
  'admiring', 'agitated', 'amazing', 'awesome', 'blissful', 'bold', 'brave', 'busy', 'calm', 'clever', 'cool', 'crazy',
  'determined', 'eager', 'ecstatic', 'elegant', 'epic', 'exciting', 'festive', 'focused', 'friendly', 'gallant', 'gifted',
  'goofy', 'happy', 'hopeful', 'inspiring', 'jolly', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'nice', 'nifty', 'nostalgic', 'optimistic', 'peaceful', 'pensive', 'practical', 'quirky', 'relaxed', 'serene', 'sharp',
  'stoic', 'sweet', 'tender', 'trusting', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'albattani', 'allen', 'archimedes', 'babbage', 'bardeen', 'bell', 'bhabha', 'blackwell', 'bohr', 'cannon', 'carson',
  'cerf', 'curie', 'darwin', 'dijkstra', 'einstein', 'euclid', 'euler', 'fermat', 'feynman', 'franklin', 'galileo',
  'gauss', 'goldberg', 'hamilton', 'hawking', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamport', 'lovelace',
  'mccarthy', 'meitner', 'newton', 'noether', 'pascal', 'perlman', 'ritchie', 'shannon', 'thompson', 'torvalds',
  'turing', 'wozniak', 'wu', 'yalow',
];

/** A free generated name (`taken` says which names exist). */
export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const pick = (a: string[]) => a[randomBytes(2).readUInt16BE(0) % a.length]!;
    let name = `${pick(LEFT)}_${pick(RIGHT)}`;
    if (i > 8) name += String(randomBytes(1)[0]! % 10);
    if (!taken(name)) return name;
  }
}
