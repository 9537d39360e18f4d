// A Logseq account for the compute figures: a local stand-in of the user pool's JWKS (the
// worker fetches it once, then verifies from its cache) and RS256 ID tokens with Cognito's
// claim set (tests/harness/cognito.mjs), so the bench can put `user_info` with a Logseq-account
// token next to `user_info` with the worker's own HS256 token: the difference is the warm RS256
// verification plus the allow-list lookup.

import { cognitoUser, idToken, makeSigningKey, startJwksServer } from "../tests/harness/cognito.mjs";

const key = makeSigningKey();
const jwks = await startJwksServer([key.jwk]);
jwks.server.unref();
const account = cognitoUser("bench");

/** Worker vars: where the JWKS is, and the account allowed (as `deploy --allow-logseq-account`). */
export const cognitoVars = { TEST_COGNITO_JWKS_URL: jwks.jwksUrl, ALLOWED_LOGSEQ_ACCOUNTS: account.email };

/** A valid ID token of the bench's Logseq account (one hour). */
export const accountToken = () => idToken(account, { key });
