// A program named like a plugin that is not one: it prints and exits.
package main

import "fmt"

func main() { fmt.Println("hello, I am not a batchhost plugin") }
