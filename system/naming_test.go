// One name per idea (README.md, Code map, Glossary): domain words in Spanish, plumbing words in English, never
// both in one identifier, never a name from the glossary's "not" column; test names in one
// language per package. The lexicons and the exceptions are in testdata/naming.
package system_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// namingModules are the production modules whose identifiers are checked (system is test tooling).
var namingModules = []string{"../contracts", "../ingest", "../reconciler"}

// goIdioms are Go's own words, written in English whatever the domain's language: a constructor
// is New, a checked parse Must or Parse, a predicate Is or Has, a sentinel error Err, a
// Stringer String, a map's Key, a slice's Len, a bound Max or Min (the builtins, math.MaxInt),
// an http.Handler's maker handle (net/http's
// Handle; ingest's handleWebhook), a configuration's check Validate. They may prefix or suffix a
// Spanish word (NewEvento, ErrComprobanteDesconocido, tipoString, handleResumen,
// validateAparcadas), so they count in neither language. Keep this list to what Go's standard
// library and tooling name this way.
var goIdioms = map[string]bool{
	"new": true, "must": true, "parse": true, "is": true, "has": true, "err": true,
	"string": true, "len": true, "key": true, "handle": true, "validate": true, "max": true, "min": true,
}

// identifier is one declared name, where it is declared and what it names.
type identifier struct {
	name string
	pos  token.Position
	kind string // package, type, func, method, field, env (a field named after its variable), const, var, param, result
}

// violation is one finding of the check: where, which identifier, which rule.
type violation struct {
	pos   token.Position
	name  string
	rule  string // "mixed", "not", "tests"
	words string // what made it a violation
}

func (v violation) String() string {
	return fmt.Sprintf("%s:%d: %s: %s (%s)", v.pos.Filename, v.pos.Line, v.rule, v.name, v.words)
}

// splitWords splits an identifier into lowercase words: camelCase and PascalCase with acronyms
// (HTTPServer: http, server; IDs: ids), snake_case and digits (RFC3339: rfc, 3339 is dropped).
func splitWords(name string) []string {
	var words []string
	rs := []rune(name)
	start := 0
	flush := func(end int) {
		if end > start {
			w := strings.ToLower(string(rs[start:end]))
			if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
				words = append(words, w)
			}
		}
		start = end
	}
	isSep := func(r rune) bool { return r == '_' || unicode.IsDigit(r) }
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if isSep(r) {
			flush(i)
			start = i + 1
			continue
		}
		if i == start || !unicode.IsUpper(r) {
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsLower(prev):
			flush(i) // aplicarWith: aplicar | With
		case unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			// HTTPServer: HTTP | Server, but IDs and URLs stay one word.
			if !(rs[i+1] == 's' && (i+2 == len(rs) || !unicode.IsLower(rs[i+2]))) {
				flush(i)
			}
		}
	}
	flush(len(rs))
	return words
}

// lexicon is a set of lowercase words read from a file with one word a line and # comments.
type lexicon map[string]bool

func readLexicon(t testing.TB, path string) lexicon {
	t.Helper()
	lex := lexicon{}
	for _, line := range readLines(t, path) {
		for _, w := range strings.Fields(line) {
			if w != strings.ToLower(w) {
				t.Errorf("%s: %q is not lowercase", path, w)
			}
			if lex[w] {
				t.Errorf("%s: %q is listed twice", path, w)
			}
			lex[w] = true
		}
	}
	return lex
}

// readLines returns the lines of path without comments and blank lines.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// glossary is what the check reads from the README's glossary table: for each word it bans, the
// word to use instead.
type glossary struct {
	notWords  map[string]string // a banned word (any identifier containing it): its replacement
	notIdents map[string]string // a banned identifier, compared case-insensitively: its replacement
	// notPrefixes: a banned first word of an identifier of two words or more (Nuevo in
	// NuevoDecoder, not the field Nuevo): its replacement.
	notPrefixes map[string]string
}

// readGlossary parses the table whose header is "word | language | meaning | not". In the "not"
// column, entries are separated by commas; a plain lowercase word (parked) bans that word in
// every identifier, a code name ending in * (`Nuevo*`) bans identifiers that begin with that word
// and go on, another code name (`enVuelo`) bans that identifier and its words joined (envuelo);
// quoted phrases ("cola de errores") are for prose and not checked.
func readGlossary(t testing.TB, path string) glossary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := glossary{notWords: map[string]string{}, notIdents: map[string]string{}, notPrefixes: map[string]string{}}
	inTable := false
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) == 4 && strings.EqualFold(cells[0], "word") && strings.EqualFold(cells[3], "not") {
			inTable = true
			continue
		}
		if !inTable || len(cells) != 4 || strings.Trim(cells[0], "-: ") == "" {
			continue
		}
		rows++
		word := strings.Trim(cells[0], "*`")
		for _, n := range strings.Split(cells[3], ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "" || n == "—" || strings.HasPrefix(n, `"`):
			case strings.HasPrefix(n, "`") && strings.HasSuffix(n, "*`"):
				g.notPrefixes[strings.ToLower(strings.Trim(n, "`*"))] = word
			case strings.HasPrefix(n, "`"):
				id := strings.Trim(n, "`")
				g.notIdents[strings.ToLower(id)] = word
				if ws := splitWords(id); len(ws) > 1 {
					g.notWords[strings.Join(ws, "")] = word
				}
			default:
				g.notWords[strings.ToLower(n)] = word
			}
		}
	}
	if rows == 0 {
		t.Fatalf("%s: no table with the columns word | language | meaning | not", path)
	}
	return g
}

// exception is a name the check lets through, with the file it is declared in.
type exception struct{ name, file string }

func readExceptions(t testing.TB, path string) map[exception]bool {
	t.Helper()
	keep := map[exception]bool{}
	for _, line := range readLines(t, path) {
		f := strings.SplitN(line, ",", 3)
		if len(f) != 3 || strings.TrimSpace(f[2]) == "" {
			t.Errorf("%s: %q is not identifier, file, reason", path, line)
			continue
		}
		keep[exception{strings.TrimSpace(f[0]), strings.TrimSpace(f[1])}] = true
	}
	return keep
}

// declared returns every identifier file declares: its package name, types, funcs and methods,
// struct fields and interface methods, consts, vars (package-level and local), type parameters,
// parameters and results, of declarations and of function literals.
func declared(fset *token.FileSet, file *ast.File) []identifier {
	var ids []identifier
	add := func(id *ast.Ident, kind string) {
		if id != nil && id.Name != "_" {
			ids = append(ids, identifier{id.Name, fset.Position(id.Pos()), kind})
		}
	}
	fields := func(fl *ast.FieldList, kind string) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				if kind == "field" && namedAfterEnv(n.Name, f.Tag) {
					add(n, "env")
				} else {
					add(n, kind)
				}
			}
		}
	}
	funcType := func(ft *ast.FuncType) {
		fields(ft.TypeParams, "type")
		fields(ft.Params, "param")
		fields(ft.Results, "result")
	}
	add(file.Name, "package")
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			kind := "func"
			if n.Recv != nil {
				kind = "method"
				fields(n.Recv, "param")
			}
			add(n.Name, kind)
			funcType(n.Type)
			return true
		case *ast.FuncLit:
			funcType(n.Type)
		case *ast.TypeSpec:
			add(n.Name, "type")
			fields(n.TypeParams, "type")
		case *ast.GenDecl:
			for _, s := range n.Specs {
				if vs, ok := s.(*ast.ValueSpec); ok {
					for _, name := range vs.Names {
						add(name, strings.ToLower(n.Tok.String()))
					}
				}
			}
		case *ast.StructType:
			fields(n.Fields, "field")
		case *ast.InterfaceType:
			for _, f := range n.Methods.List {
				for _, name := range f.Names {
					add(name, "method")
				}
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id, "var")
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						add(id, "var")
					}
				}
			}
		}
		return true
	})
	return dedupe(ids)
}

// namedAfterEnv reports whether a struct field is named after the environment variable its
// envconfig tag reads, word for word (ParkedMaxAge, PARKED_MAX_AGE). Users set that variable:
// the field keeps their name, as the variable does (README.md, "Names kept for users").
func namedAfterEnv(field string, tag *ast.BasicLit) bool {
	if tag == nil {
		return false
	}
	raw, err := strconv.Unquote(tag.Value)
	if err != nil {
		return false
	}
	env, ok := reflect.StructTag(raw).Lookup("envconfig")
	return ok && slices.Equal(splitWords(field), splitWords(env))
}

// dedupe drops an identifier seen twice at one position (a receiver is also a FieldList).
func dedupe(ids []identifier) []identifier {
	seen := map[token.Position]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id.pos] {
			seen[id.pos] = true
			out = append(out, id)
		}
	}
	return out
}

// namer holds what the check knows: the two lexicons, the glossary and the exceptions.
type namer struct {
	es, en lexicon
	g      glossary
	keep   map[exception]bool
}

func loadNamer(t testing.TB) namer {
	t.Helper()
	return namer{
		es:   readLexicon(t, "testdata/naming/es.txt"),
		en:   readLexicon(t, "testdata/naming/en.txt"),
		g:    readGlossary(t, "../README.md"),
		keep: readExceptions(t, "testdata/naming/keep.txt"),
	}
}

// languages returns the words of name that are only Spanish and those that are only English;
// Go's idioms and the words in both lexicons or in neither count in neither.
func (nm namer) languages(name string) (es, en []string) {
	for _, w := range splitWords(name) {
		if goIdioms[w] || nm.es[w] == nm.en[w] {
			continue
		}
		if nm.es[w] {
			es = append(es, w)
		} else {
			en = append(en, w)
		}
	}
	return es, en
}

// check returns the violations of rules a (both languages in one identifier) and b (a word or
// identifier of the glossary's "not" column) among ids.
func (nm namer) check(ids []identifier) []violation {
	var vs []violation
	for _, id := range ids {
		if id.kind == "env" || nm.keep[exception{id.name, filepath.ToSlash(id.pos.Filename)}] {
			continue
		}
		if es, en := nm.languages(id.name); len(es) > 0 && len(en) > 0 {
			vs = append(vs, violation{id.pos, id.name, "mixed", "es " + strings.Join(es, ",") + " / en " + strings.Join(en, ",")})
		}
		if banned := nm.banned(id.name); len(banned) > 0 {
			vs = append(vs, violation{id.pos, id.name, "not", strings.Join(banned, ", ")})
		}
	}
	return vs
}

// banned returns the glossary's "not" entries name contains, each as "word→replacement".
func (nm namer) banned(name string) []string {
	var banned []string
	add := func(w, use string) {
		if e := w + "→" + use; !slices.Contains(banned, e) {
			banned = append(banned, e)
		}
	}
	ws := splitWords(name)
	if use, ok := nm.g.notIdents[strings.ToLower(name)]; ok {
		return []string{name + "→" + use}
	}
	if use, ok := nm.g.notPrefixes[ws[0]]; ok && len(ws) > 1 {
		add(ws[0]+"…", use)
	}
	for i := range ws {
		if use, ok := nm.g.notWords[ws[i]]; ok {
			add(ws[i], use)
		}
		// A banned word may be written as two (enVuelo: en, vuelo).
		if i+1 < len(ws) {
			if use, ok := nm.g.notWords[ws[i]+ws[i+1]]; ok {
				add(ws[i]+ws[i+1], use)
			}
		}
	}
	return banned
}

// checkTestNames returns, for a package whose test names (Test* functions, after the prefix) are
// some Spanish and some English, one violation per test name of the smaller group. names maps a
// package directory to its tests.
func (nm namer) checkTestNames(names map[string][]identifier) []violation {
	var vs []violation
	for _, tests := range names {
		var es, en []identifier
		for _, id := range tests {
			wes, wen := nm.languages(strings.TrimPrefix(id.name, "Test"))
			switch {
			case len(wes) > len(wen):
				es = append(es, id)
			case len(wen) > len(wes):
				en = append(en, id)
			}
		}
		if len(es) == 0 || len(en) == 0 {
			continue
		}
		minority, lang := es, "Spanish"
		if len(es) > len(en) {
			minority, lang = en, "English"
		}
		for _, id := range minority {
			vs = append(vs, violation{id.pos, id.name, "tests", fmt.Sprintf("%s among %d Spanish and %d English test names", lang, len(es), len(en))})
		}
	}
	return vs
}

// sourceFiles parses every .go file under the production modules, skipping testdata and
// generated files, and returns the production files and the test files.
func sourceFiles(t testing.TB, fset *token.FileSet) (prod, tests []*ast.File) {
	t.Helper()
	for _, root := range namingModules {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && (d.Name() == "testdata" || d.Name() == "system" || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// Positions read from the repository's root: reconciler/run.go.
			name := strings.TrimPrefix(filepath.ToSlash(path), "../")
			f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			switch {
			case ast.IsGenerated(f):
			case strings.HasSuffix(path, "_test.go"):
				tests = append(tests, f)
			default:
				prod = append(prod, f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return prod, tests
}

// testNames returns the Test* functions of files, by package directory.
func testNames(fset *token.FileSet, files []*ast.File) map[string][]identifier {
	names := map[string][]identifier{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "Test") || fd.Name.Name == "TestMain" {
				continue
			}
			pos := fset.Position(fd.Name.Pos())
			dir := filepath.Dir(pos.Filename)
			names[dir] = append(names[dir], identifier{fd.Name.Name, pos, "func"})
		}
	}
	return names
}

func TestNamesFollowTheGlossary(t *testing.T) {
	nm := loadNamer(t)
	fset := token.NewFileSet()
	prod, tests := sourceFiles(t, fset)
	vs := append(nm.check(productionIdentifiers(fset, prod)), nm.checkTestNames(testNames(fset, tests))...)
	sortViolations(vs)
	for _, v := range vs {
		t.Error(v)
	}
}

// productionIdentifiers returns what files declare, each package's name once.
func productionIdentifiers(fset *token.FileSet, files []*ast.File) []identifier {
	var ids []identifier
	packages := map[string]bool{}
	for _, f := range files {
		for _, id := range declared(fset, f) {
			if id.kind == "package" {
				dir := filepath.Dir(id.pos.Filename)
				if packages[dir] {
					continue
				}
				packages[dir] = true
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func sortViolations(vs []violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].pos.Filename != vs[j].pos.Filename {
			return vs[i].pos.Filename < vs[j].pos.Filename
		}
		return vs[i].pos.Line < vs[j].pos.Line
	})
}

// TestNamingCheckFlags feeds the check a small source with the examples of issue 20, so that
// it cannot pass by finding nothing.
func TestNamingCheckFlags(t *testing.T) {
	const src = `package sample

import "time"

type Config struct {
	ParkedMax  int64         ` + "`envconfig:\"PARKED_MAX\"`" + `
	aparcadasMax int64
}

type worker struct{ parked int }

func NuevoDecoder() {}
func NewEvento()    {}

func (w *worker) aplicarWithRetries(ctx time.Duration) (enVuelo int) {
	prepararAparcadas, nakWithDelay := 1, 2
	for _, HTTPServer := range []int{prepararAparcadas, nakWithDelay} {
		_ = HTTPServer
	}
	return 0
}
`
	nm := loadNamer(t)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "sample.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range nm.check(productionIdentifiers(fset, []*ast.File{f})) {
		got = append(got, fmt.Sprintf("%d %s %s", v.pos.Line, v.rule, v.name))
	}
	want := []string{
		"10 not parked",         // a word of the "not" column
		"12 mixed NuevoDecoder", // Nuevo + Decoder
		"12 not NuevoDecoder",   // and Nuevo is New's "not"
		"15 mixed aplicarWithRetries",
		"15 not enVuelo", // a banned identifier, written as two words
	}
	if !slices.Equal(got, want) {
		t.Errorf("flagged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	tests := map[string][]identifier{
		"one": {{name: "TestAplicarListas"}, {name: "TestRelayRetries"}, {name: "TestRelayOnce"}},
		"two": {{name: "TestAparcadasPorPaginas"}, {name: "TestCursor"}},
	}
	var mixed []string
	for _, v := range nm.checkTestNames(tests) {
		mixed = append(mixed, v.name)
	}
	if !slices.Equal(mixed, []string{"TestAplicarListas"}) {
		t.Errorf("test names flagged: %v, want [TestAplicarListas]", mixed)
	}
}

func TestSplitWords(t *testing.T) {
	for name, want := range map[string]string{
		"aplicarWithRetries":        "aplicar with retries",
		"HTTPServer":                "http server",
		"NuevoDecoder":              "nuevo decoder",
		"messageIDs":                "message ids",
		"PDFZipBase64":              "pdf zip base",
		"reconciler_esperando_mas":  "reconciler esperando mas",
		"ErrComprobanteDesconocido": "err comprobante desconocido",
		"x":                         "x",
	} {
		if got := strings.Join(splitWords(name), " "); got != want {
			t.Errorf("splitWords(%q) = %q, want %q", name, got, want)
		}
	}
}
