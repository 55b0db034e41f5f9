/** An outbound request the egress policy refused, before any packet reached the host. */
export class EgressRefusal extends Error {
  constructor(
    /** The host as the request named it. */
    readonly host: string,
    /** The sentence saying why, e.g. "127.0.0.1 is a loopback address". */
    readonly reason: string,
  ) {
    super(`${reason}, and this Gatehouse reaches only public addresses (the deployment operator can allow it in platform.egress.allow)`);
    this.name = 'EgressRefusal';
  }
}

/** A host name that did not resolve: not a refusal by the policy, but nothing was sent either. */
export class EgressResolutionError extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
  ) {
    super(`${host} could not be resolved (${code})`);
    this.name = 'EgressResolutionError';
  }
}
