package ingest

import (
	"net/http/httptest"
	"testing"
)

const (
	tokenA = "tokenA-0123456789abcdef"
	tokenB = "tokenB-0123456789abcdef"
)

func TestTokenSetValid(t *testing.T) {
	t.Parallel()
	set := newTokenSet([][]byte{[]byte(tokenA), []byte(tokenB)})
	tests := []struct {
		name      string
		presented string
		want      bool
	}{
		{"first token", tokenA, true},
		{"second token", tokenB, true},
		{"wrong token", "tokenX-0123456789abcdef", false},
		{"empty", "", false},
		{"prefix of a valid token", tokenA[:len(tokenA)-1], false},
		{"valid token plus suffix", tokenA + "0", false},
		{"valid token with a leading space", " " + tokenA, false},
		{"different case", "TOKENA-0123456789ABCDEF", false},
		{"both tokens joined", tokenA + "," + tokenB, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := set.valid(tt.presented); got != tt.want {
				t.Errorf("valid(%q) = %v, want %v", tt.presented, got, tt.want)
			}
			wantIndex := -1
			switch {
			case tt.want && tt.presented == tokenA:
				wantIndex = 0
			case tt.want:
				wantIndex = 1
			}
			if got := set.index(tt.presented); got != wantIndex {
				t.Errorf("index(%q) = %d, want %d", tt.presented, got, wantIndex)
			}
		})
	}
}

func TestTokenSetEmptyAcceptsNothing(t *testing.T) {
	t.Parallel()
	var set tokenSet
	for _, p := range []string{"", tokenA} {
		if set.valid(p) {
			t.Errorf("empty set accepts %q", p)
		}
	}
}

func TestPresentedToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		auth   string // Authorization header; "" for none
		want   string
	}{
		{name: "Bearer", target: "/webhooks/nubefact", auth: "Bearer " + tokenA, want: tokenA},
		{name: "bearer lowercase", target: "/webhooks/nubefact", auth: "bearer " + tokenA, want: tokenA},
		{name: "BEARER uppercase", target: "/webhooks/nubefact", auth: "BEARER " + tokenA, want: tokenA},
		{name: "Bearer with extra spaces", target: "/webhooks/nubefact", auth: "Bearer   " + tokenA + " ", want: tokenA},
		{name: "Basic", target: "/webhooks/nubefact", auth: "Basic dXNlcjpwYXNzd29yZA==", want: ""},
		{name: "NubeFacT client style", target: "/webhooks/nubefact", auth: `Token token="` + tokenA + `"`, want: ""},
		{name: "scheme only", target: "/webhooks/nubefact", auth: "Bearer", want: ""},
		{name: "query token", target: "/webhooks/nubefact?token=" + tokenB, want: tokenB},
		{name: "query token escaped", target: "/webhooks/nubefact?token=a%2Bb%26c", want: "a+b&c"},
		{name: "header wins over query", target: "/webhooks/nubefact?token=" + tokenB, auth: "Bearer " + tokenA, want: tokenA},
		{name: "a proxy's Basic header leaves the query token in force", target: "/webhooks/nubefact?token=" + tokenB, auth: "Basic dXNlcjpwYXNzd29yZA==", want: tokenB},
		{name: "nothing", target: "/webhooks/nubefact", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", tt.target, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := presentedToken(r); got != tt.want {
				t.Errorf("presentedToken = %q, want %q", got, tt.want)
			}
		})
	}
}
