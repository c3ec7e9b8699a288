// Command forwardgen writes the kisi package's api.go, the flat forwarding
// methods of kisi.Client, from forwards.txt. Run it through go generate in
// the kisi package's directory:
//
//	go generate ./kisi
package main

import (
	"fmt"
	"os"

	"github.com/kisisync/kisisync/kisi/internal/forwardgen"
)

func main() {
	out, err := forwardgen.Generate(".")
	if err == nil {
		err = os.WriteFile(forwardgen.OutputFile, out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "forwardgen:", err)
		os.Exit(1)
	}
}
