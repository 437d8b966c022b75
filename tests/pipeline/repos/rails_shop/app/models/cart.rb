class Cart < ApplicationRecord
  include Discountable

  has_many :items, class_name: "CartItem", dependent: :destroy

  def self.for_session(session_id)
    find_or_create_by!(session_id: session_id)
  end

  def total
    items.sum { |item| item.unit_price * item.quantity } - discount
  end
end
