package contracts

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzTopLevelKeys checks the skimming pass against encoding/json's tokenizer: for any valid
// JSON object, both see the same top-level keys in the same order, and each member yielded is
// that key and its value as sent (what the budget of unknown keys counts).
func FuzzTopLevelKeys(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"\u0061":1,"a\"b":[1,{"c":"}"}],"d":{"e":{}}}`,
		`{"x":"\\","y":"\\\"","z":-1.5e3,"t":true,"f":false,"n":null}`,
		`{ "a" : [ ] , "b" : { } , "c" : "" }`, `{"\ud800":1,"ſ":2}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"NUMERO":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Decode's precondition: UTF-8 (checked first), then a valid object.
		if !utf8.Valid(data) || !json.Valid(data) || bytes.TrimLeft(data, " \t\r\n")[0] != '{' {
			return
		}
		var want, wantValues [][]byte
		dec := json.NewDecoder(bytes.NewReader(data))
		if _, err := dec.Token(); err != nil { // '{'
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, []byte(tok.(string)))
			var value json.RawMessage
			if err := dec.Decode(&value); err != nil {
				t.Fatal(err)
			}
			wantValues = append(wantValues, value)
		}
		var got, members [][]byte
		for key, member := range topLevelKeys(data) {
			got = append(got, key)
			members = append(members, member)
		}
		if !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("topLevelKeys(%s) = %q, want %q", data, got, want)
		}
		for i, member := range members {
			// The member is the key as sent, then the colon, then exactly the value.
			var one map[string]json.RawMessage
			if member[0] != '"' || !bytes.HasSuffix(member, wantValues[i]) ||
				json.Unmarshal(slices.Concat([]byte("{"), member, []byte("}")), &one) != nil || len(one) != 1 {
				t.Fatalf("member %d of %s = %q, want the key %q and the value %s as sent", i, data, member, want[i], wantValues[i])
			}
			if _, ok := one[string(want[i])]; !ok && utf8.Valid(want[i]) {
				t.Fatalf("member %d of %s = %q, does not hold the key %q", i, data, member, want[i])
			}
		}
	})
}
