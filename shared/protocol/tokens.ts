/**
 * How strong a token must be, one rule wherever a token enters (flags, files, the environment, the
 * dashboard's attach form): a recorded handshake lets anyone try tokens offline, so a token must
 * carry at least TOKEN_BITS_MIN bits. Console tokens (made from a cluster token, one way) are
 * recognised by their prefix.
 */

/** Console tokens start with this, so that a console tells one from a cluster token. */
export const CONSOLE_TOKEN_PREFIX = 'conclave-console.';
/** A console token as `conclave token --console` makes it: the prefix and 256 bits in base64url. */
const CONSOLE_TOKEN_PATTERN = /^conclave-console\.[A-Za-z0-9_-]{43}$/;
/** The least a token may carry: a recorded handshake lets anyone guess offline, at billions a second. */
export const TOKEN_BITS_MIN = 128;

export function isConsoleToken(token: string): boolean {
  return token.startsWith(CONSOLE_TOKEN_PREFIX);
}

/**
 * About how many bits a token carries, estimated as if its characters were drawn at random from an
 * alphabet: the classes it uses (lower case, upper case, digits, others) at most, and no larger than
 * a random draw would need to show as few distinct characters as it does (a word, a repeated
 * pattern). An estimate from above: tokens should come from a random source.
 */
export function tokenBits(token: string): number {
  const characters = [...token];
  const length = characters.length;
  const distinct = new Set(characters).size;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/];
  const sizes = [26, 26, 10, 33];
  const classAlphabet = classes.reduce((sum, pattern, index) => sum + (pattern.test(token) ? sizes[index]! : 0), 0);
  // Distinct characters expected in `length` draws from an alphabet of `size`: size * (1 - e^(-length/size)), rising with size.
  const expectedDistinct = (size: number): number => size * (1 - Math.exp(-length / size));
  let alphabet = classAlphabet;
  if (distinct <= 1) alphabet = 1;
  else if (expectedDistinct(classAlphabet) > distinct) {
    let low = distinct;
    let high = classAlphabet;
    for (let step = 0; step < 40; step++) {
      const middle = (low + high) / 2;
      if (expectedDistinct(middle) < distinct) low = middle;
      else high = middle;
    }
    alphabet = low;
  }
  return Math.floor(length * Math.log2(Math.max(1, alphabet)));
}

/** Why a token is too weak to use, in words naming where it came from; null when it is strong enough. */
export function weakTokenProblem(token: string, from: string): string | null {
  if (isConsoleToken(token)) {
    return CONSOLE_TOKEN_PATTERN.test(token) ? null : `the token (${from}) starts like a console token but is not one: make it with "conclave token --console"`;
  }
  const bits = tokenBits(token);
  if (bits >= TOKEN_BITS_MIN) return null;
  return `the token (${from}) is too weak: about ${bits} bits, and at least ${TOKEN_BITS_MIN} are needed (32 or more random characters, as "conclave token" or "openssl rand -base64 32" make them)`;
}
