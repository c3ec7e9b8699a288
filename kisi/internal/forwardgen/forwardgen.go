// Package forwardgen writes the flat forwarding methods of kisi.Client
// (api.go) from a table of "<Method> <Service field>.<Service method>"
// lines (forwards.txt): each forwards to the service method with the same
// signature. It reads the kisi package's source with go/parser, so the
// forwards follow the services' signatures without a hand edit.
//
// # Usage
//
//	//go:generate go run ./internal/forwardgen/cmd/forwardgen
//
// run from the kisi package's directory, or [Generate] from a test that
// checks the generated file is up to date.
package forwardgen

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Names of the table and of the file written from it, in the kisi
// package's directory.
const (
	TableFile  = "forwards.txt"
	OutputFile = "api.go"
)

// Forward is one line of the table: the flat method Method of the client
// forwards to the method ServiceMethod of its field Service.
type Forward struct {
	Method        string
	Service       string
	ServiceMethod string
}

// ReadTable reads the table in dir. Blank lines and lines starting with
// "#" are skipped.
func ReadTable(dir string) ([]Forward, error) {
	data, err := os.ReadFile(filepath.Join(dir, TableFile))
	if err != nil {
		return nil, err
	}
	var out []Forward
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		svc, m, ok := strings.Cut(f[len(f)-1], ".")
		if len(f) != 2 || !ok || !token.IsIdentifier(f[0]) || !token.IsIdentifier(svc) || !token.IsIdentifier(m) {
			return nil, fmt.Errorf("%s:%d: want \"<Method> <Service>.<Method>\", got %q", TableFile, n, line)
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("%s:%d: %s listed twice", TableFile, n, f[0])
		}
		seen[f[0]] = true
		out = append(out, Forward{Method: f[0], Service: svc, ServiceMethod: m})
	}
	return out, sc.Err()
}

// source is what Generate reads of the package: the service type of each
// Client field and each service method's declaration and file.
type source struct {
	fset     *token.FileSet
	fields   map[string]string // Client field -> service type name
	methods  map[string]*ast.FuncDecl
	fileOf   map[*ast.FuncDecl]*ast.File
	existing map[string]bool // Client methods declared outside the output file
}

func parse(dir string) (*source, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	src := &source{fset: token.NewFileSet(), fields: map[string]string{}, methods: map[string]*ast.FuncDecl{},
		fileOf: map[*ast.FuncDecl]*ast.File{}, existing: map[string]bool{}}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == OutputFile {
			continue
		}
		f, err := parser.ParseFile(src.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				src.readClient(d)
			case *ast.FuncDecl:
				recv := receiver(d)
				if recv == "Client" {
					src.existing[d.Name.Name] = true
				} else if recv != "" {
					src.methods[recv+"."+d.Name.Name] = d
					src.fileOf[d] = f
				}
			}
		}
	}
	return src, nil
}

// readClient records the service fields of the Client struct in d.
func (s *source) readClient(d *ast.GenDecl) {
	for _, sp := range d.Specs {
		ts, ok := sp.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Client" {
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, fl := range st.Fields.List {
			star, ok := fl.Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); ok {
				for _, n := range fl.Names {
					s.fields[n.Name] = id.Name
				}
			}
		}
	}
}

// receiver returns the type name of d's pointer receiver, or "".
func receiver(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) != 1 {
		return ""
	}
	if star, ok := d.Recv.List[0].Type.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// Generate returns the contents of the output file for the kisi package in
// dir, gofmt-ed.
func Generate(dir string) ([]byte, error) {
	table, err := ReadTable(dir)
	if err != nil {
		return nil, err
	}
	src, err := parse(dir)
	if err != nil {
		return nil, err
	}
	imports := map[string]bool{}
	var body bytes.Buffer
	for _, fw := range table {
		if src.existing[fw.Method] {
			return nil, fmt.Errorf("%s: Client.%s is declared by hand already", TableFile, fw.Method)
		}
		svc, ok := src.fields[fw.Service]
		if !ok {
			return nil, fmt.Errorf("%s: Client has no service field %s", TableFile, fw.Service)
		}
		d, ok := src.methods[svc+"."+fw.ServiceMethod]
		if !ok || !d.Name.IsExported() {
			return nil, fmt.Errorf("%s: %s has no exported method %s", TableFile, svc, fw.ServiceMethod)
		}
		if err := src.write(&body, fw, svc, d, imports); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "// Code generated by forwardgen from %s; DO NOT EDIT.\n\npackage kisi\n\n", TableFile)
	if len(imports) > 0 {
		out.WriteString("import (\n")
		for _, p := range slices.Sorted(func(yield func(string) bool) {
			for p := range imports {
				if !yield(p) {
					return
				}
			}
		}) {
			fmt.Fprintf(&out, "\t%s\n", p)
		}
		out.WriteString(")\n\n")
	}
	out.WriteString(`// The flat methods below forward to the services. They exist so that a
// caller can declare a narrow interface of exactly the calls it makes (as
// access.KisiAPI and troubleshoot.Kisi do) and have *Client satisfy it;
// interfaces cannot name methods of service fields. Page through their
// List methods with [Items], [All] or [Pages]. To add one, add its line to
// ` + TableFile + ` and run go generate.
`)
	out.Write(body.Bytes())
	return format.Source(out.Bytes())
}

// write appends the forward fw to d (a method of the service type svc) and
// records the imports its signature needs.
func (s *source) write(w *bytes.Buffer, fw Forward, svc string, d *ast.FuncDecl, imports map[string]bool) error {
	var params, args []string
	for i, fl := range d.Type.Params.List {
		typ := s.expr(fl.Type)
		names := fl.Names
		if len(names) == 0 {
			names = []*ast.Ident{ast.NewIdent("p" + strconv.Itoa(i))}
		}
		for _, n := range names {
			name := n.Name
			if name == "_" || name == "c" {
				name = "p" + strconv.Itoa(len(args))
			}
			params = append(params, name+" "+typ)
			if _, ok := fl.Type.(*ast.Ellipsis); ok {
				name += "..."
			}
			args = append(args, name)
		}
	}
	results := ""
	if d.Type.Results != nil {
		var rs []string
		for _, fl := range d.Type.Results.List {
			for range max(1, len(fl.Names)) {
				rs = append(rs, s.expr(fl.Type))
			}
		}
		results = " " + strings.Join(rs, ", ")
		if len(rs) > 1 {
			results = " (" + strings.Join(rs, ", ") + ")"
		}
	}
	if err := s.imports(d, imports); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n// %s forwards to [%s.%s].\n", fw.Method, svc, fw.ServiceMethod)
	fmt.Fprintf(w, "func (c *Client) %s(%s)%s {\n", fw.Method, strings.Join(params, ", "), results)
	ret := "return "
	if d.Type.Results == nil {
		ret = ""
	}
	fmt.Fprintf(w, "\t%sc.%s.%s(%s)\n}\n", ret, fw.Service, fw.ServiceMethod, strings.Join(args, ", "))
	return nil
}

func (s *source) expr(e ast.Expr) string {
	var b bytes.Buffer
	_ = printer.Fprint(&b, s.fset, e)
	return b.String()
}

// imports adds the import lines of the packages d's signature names,
// taken from the imports of d's file.
func (s *source) imports(d *ast.FuncDecl, out map[string]bool) error {
	byName := map[string]string{}
	for _, is := range s.fileOf[d].Imports {
		p, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			return err
		}
		name := p[strings.LastIndexByte(p, '/')+1:]
		line := is.Path.Value
		if is.Name != nil {
			name = is.Name.Name
			line = name + " " + line
		}
		byName[name] = line
	}
	var err error
	ast.Inspect(d.Type, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			line, ok := byName[id.Name]
			if !ok {
				err = fmt.Errorf("%s.%s: package %s not imported", receiver(d), d.Name.Name, id.Name)
				return false
			}
			out[line] = true
		}
		return false
	})
	return err
}
