// Package csvcell keeps text from outside harmless in a CSV the accountant opens in a
// spreadsheet (the regularization reports of the CLI and the console).
package csvcell

import "strings"

// Safe makes s safe as a cell: text that starts like a formula (=, +, -, @, a tab or a carriage
// return) gets a leading apostrophe, so a spreadsheet shows it instead of evaluating it.
func Safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
