# Where an order ships to.
module Shipping
  Order = Struct.new(:address)
  Address = Struct.new(:city)

  def self.city(order)
    order.address.city
  end
end
