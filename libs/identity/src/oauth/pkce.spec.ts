import { isValidCodeChallenge, verifyCodeVerifier } from './pkce';

describe('PKCE S256', () => {
  // The example of RFC 7636 appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('accepts the RFC 7636 example and refuses any other verifier', () => {
    expect(isValidCodeChallenge(challenge)).toBe(true);
    expect(verifyCodeVerifier(verifier, challenge)).toBe(true);
    expect(verifyCodeVerifier(`${verifier.slice(0, -1)}Y`, challenge)).toBe(false);
  });

  it('refuses the plain method (the verifier sent as its own challenge) and malformed verifiers', () => {
    expect(isValidCodeChallenge('short')).toBe(false);
    expect(verifyCodeVerifier(challenge, challenge)).toBe(false);
    expect(verifyCodeVerifier('too-short', challenge)).toBe(false);
  });
});
