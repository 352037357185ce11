// The error of a policy file that cannot be used.

/** A policy file that cannot be used; the message names the file (and line), the path and what was expected. */
export class PolicyError extends Error {
  override name = "PolicyError";
}
