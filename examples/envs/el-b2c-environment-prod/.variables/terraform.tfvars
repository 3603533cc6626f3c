environment = "prod"
zookeeper_nodes = 3
kafka_brokers = 3
cassandra_nodes = 3
school_replicas = 3
kafka_admin_password = "prod-secret"
