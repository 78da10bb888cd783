package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// tokenSet checks a presented token against every configured one in constant time. Hashing
// both sides first makes the comparison independent of the tokens' lengths too.
type tokenSet [][sha256.Size]byte

func newTokenSet(tokens [][]byte) tokenSet {
	s := make(tokenSet, len(tokens))
	for i, t := range tokens {
		s[i] = sha256.Sum256(t)
	}
	return s
}

func (s tokenSet) valid(presented string) bool {
	return s.index(presented) >= 0
}

// index is the position in WEBHOOK_TOKENS (from 0) of the token presented, or -1 when it is
// none of them. Which token matched is chosen in constant time too.
func (s tokenSet) index(presented string) int {
	if presented == "" {
		return -1
	}
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range s {
		eq := subtle.ConstantTimeCompare(h[:], s[i][:]) // no early exit: same time for every token
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}

// presentedToken takes the token from "Authorization: Bearer <token>" or, because NubeFacT's
// panel only takes a URL, from the query string "?token=<token>". An Authorization header of
// another scheme (a proxy's Basic credentials, say) is not ours: the query string still counts.
func presentedToken(r *http.Request) string {
	if scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return r.URL.Query().Get("token")
}
