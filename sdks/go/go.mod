module bugstack.dev/sdk/go

go 1.19
