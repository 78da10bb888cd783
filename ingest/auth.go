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
	if presented == "" {
		return false
	}
	h := sha256.Sum256([]byte(presented))
	ok := 0
	for i := range s {
		ok |= subtle.ConstantTimeCompare(h[:], s[i][:]) // no early exit: same time for every token
	}
	return ok == 1
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
