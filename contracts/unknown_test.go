package contracts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// withUnknown is a valid notification with one unknown member, "x":"aaa…", of exactly size
// bytes as the budget counts them (from the key's opening quote to the end of its value); 0 for
// none. size must be 0 or at least len(`"x":""`).
func withUnknown(size int) []byte {
	body := `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_responsecode":"0"`
	if size > 0 {
		body += `,"x":"` + strings.Repeat("a", size-len(`"x":""`)) + `"`
	}
	return []byte(body + "}")
}

func TestDecodificarConTopeDeDesconocidas(t *testing.T) {
	t.Parallel()
	d := contracts.Decoder{MaxUnknown: contracts.MaxUnknown}
	zip := strings.Repeat("UEsDBBQ", 8000) // 56 KB of a known field: not counted
	tests := []struct {
		name string
		body string
		size int // 0: accepted; otherwise the size the error reports
	}{
		{name: "none", body: string(withUnknown(0))},
		{name: "exactly the budget", body: string(withUnknown(contracts.MaxUnknown))},
		{name: "one byte over", body: string(withUnknown(contracts.MaxUnknown + 1)), size: contracts.MaxUnknown + 1},
		{name: "60 KiB", body: string(withUnknown(60 << 10)), size: 60 << 10},
		{name: "known fields are not counted",
			body: `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"pdf_zip_base64":"` + zip + `","xml_zip_base64":"` + zip[:4000] + `"}`},
		{name: "a nested value counts whole",
			body: `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"x":{"y":["` + strings.Repeat("b", contracts.MaxUnknown) + `"]}}`,
			size: len(`"x":{"y":["`) + contracts.MaxUnknown + len(`"]}`)},
		{name: "an escaped key counts as sent",
			body: `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"\u0078":"` + strings.Repeat("c", contracts.MaxUnknown-len(`"\u0078":""`)+1) + `"}`,
			size: contracts.MaxUnknown + 1},
		{name: "spaces around the colon count",
			body: `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"x"  :  "` + strings.Repeat("d", contracts.MaxUnknown-len(`"x"  :  ""`)) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := d.Decode([]byte(tt.body))
			if tt.size == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			tooLarge, ok := errors.AsType[*contracts.UnknownTooLargeError](err)
			if !ok {
				t.Fatalf("Decode = %v, want an *UnknownTooLargeError", err)
			}
			if tooLarge.Size != tt.size || tooLarge.Max != contracts.MaxUnknown {
				t.Errorf("error = %+v, want size %d over %d", tooLarge, tt.size, contracts.MaxUnknown)
			}
			if !errors.Is(err, contracts.ErrPayload) {
				t.Errorf("errors.Is(%v, ErrPayload) = false", err)
			}
			if !strings.Contains(err.Error(), "4096") {
				t.Errorf("error %q does not name the budget", err)
			}
			// Without a budget (the reconciler, reading what was stored before) it decodes.
			if _, err := contracts.Decode([]byte(tt.body)); err != nil {
				t.Errorf("the zero Decoder: %v", err)
			}
		})
	}
}

func ExampleDecoder_maxUnknown() {
	d := contracts.Decoder{MaxUnknown: 16}
	_, err := d.Decode([]byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"nota":"0123456"}`))
	fmt.Println(err)
	_, err = d.Decode([]byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"nota":"01234567"}`))
	fmt.Println(err)
	// Output:
	// <nil>
	// body: the unknown keys and their values take 17 bytes, over the budget of 16
}
