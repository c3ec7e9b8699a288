package fleet_test

import (
	"fmt"

	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi"
)

func ExampleFailureClass() {
	fmt.Println(fleet.FailureClass(&kisi.Error{StatusCode: 401}))
	fmt.Println(fleet.FailureClass(fmt.Errorf("access: create grant: %w", &kisi.Error{StatusCode: 404})))
	// Output:
	// systemic
	// missing
}
