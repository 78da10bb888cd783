package contracts

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A provider that changes a field's JSON type must not stop every acceptance. These types take
// both spellings of a value whose meaning is unambiguous and normalise them, so that both give
// the same Notificacion and the same MessageID. They never fail inside encoding/json, which
// would not say which field failed: they keep the reason, and Decode names the field.

// intOrString is tipo_de_comprobante or numero: a JSON integer (110) or a string of its digits
// without leading zeros ("110"). "0110" is refused: it is not how NubeFacT writes the number,
// and its meaning (octal? a typo?) is not worth guessing.
type intOrString struct {
	v      *int
	reason string // why the value was refused; "" if it was not
}

func (x *intOrString) UnmarshalJSON(b []byte) error {
	*x = intOrString{}
	var n int
	var err error
	switch b[0] {
	case 'n': // null: encoding/json hands it to the Unmarshaler of a field that is not a pointer
		return nil
	case '"':
		s, ok := unquote(b)
		if !ok || !isCanonicalDigits(s) {
			x.reason = "must be an integer, or a string of its digits without leading zeros, got " + describeValue(b)
			return nil
		}
		n, err = strconv.Atoi(s)
	default:
		n, err = strconv.Atoi(string(b))
	}
	if err != nil {
		x.reason = "must be an integer, got " + describeValue(b)
		return nil
	}
	x.v = &n
	return nil
}

// codeOrNumber is sunat_responsecode: a string ("0", "0100", "4000", as NubeFacT documents it)
// or a JSON number. A number is classified by its value: its decimal digits become the string,
// so 0 is "0" and 4000 is "4000". A number cannot say "0100": 100 becomes "100", which
// Resultado classifies as the same exception, though under another MessageID (the code of a
// notification without a final outcome is part of it).
type codeOrNumber struct {
	v      *string
	reason string
}

func (x *codeOrNumber) UnmarshalJSON(b []byte) error {
	*x = codeOrNumber{}
	switch {
	case b[0] == 'n':
		return nil
	case b[0] == '"':
		// Validate judges the string's content, as it does for a notification built by code.
		s, ok := unquote(b)
		if !ok {
			x.reason = "must be a string of 1 to 8 digits, got " + describeValue(b)
			return nil
		}
		x.v = &s
	case len(b) <= 8 && isDigits(string(b)):
		// JSON numbers have no leading zeros, so the digits are the value's canonical spelling.
		s := string(b)
		x.v = &s
	default:
		x.reason = "must be a string of 1 to 8 digits, or a whole number of at most 8 digits, got " + describeValue(b)
	}
	return nil
}

// unquote decodes a JSON string literal. Only escapes need encoding/json; the body is known to
// be valid UTF-8.
func unquote(b []byte) (string, bool) {
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			err := json.Unmarshal(b, &s)
			return s, err == nil
		}
	}
	return string(inner), true
}

// isCanonicalDigits reports whether s is a non-negative integer written as JSON would write
// it: digits only, no leading zero unless it is "0".
func isCanonicalDigits(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describeValue describes a JSON value for an error message: short literals as they are,
// anything long cut short, objects and arrays by their kind (their content could be anything).
func describeValue(b []byte) string {
	const limit = 32
	switch b[0] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	}
	if len(b) <= limit {
		return string(b)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}
