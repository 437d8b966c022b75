module example.com/shop

go 1.19

require bugstack.dev/sdk/go v0.0.0

replace bugstack.dev/sdk/go => ../..
