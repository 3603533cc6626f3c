environment = "dev"
zookeeper_nodes = 1
kafka_brokers = 1
school_replicas = 1
kafka_admin_password = "dev-secret"
