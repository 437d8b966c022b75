def find(users, name):
    return next((user for user in users if user.name == name), None)


def email_domain(users, name):
    user = find(users, name)
    return user.email.split("@")[1]
