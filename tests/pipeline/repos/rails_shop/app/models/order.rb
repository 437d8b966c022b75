class Order < ApplicationRecord
  has_many :lines, class_name: "OrderLine"
end
