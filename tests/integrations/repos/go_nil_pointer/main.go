package main

import (
	"fmt"
	"os"
)

type User struct {
	Name string
}

type Address struct {
	City string
}

func displayName(u *User) string {
	return u.Name
}

func lookupCity(a *Address) (string, error) {
	return a.City, nil
}

func main() {
	switch os.Args[1] {
	case "displayName":
		fmt.Println(displayName(nil))
	case "lookupCity":
		city, err := lookupCity(nil)
		fmt.Println(city, err)
	}
}
